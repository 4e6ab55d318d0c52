import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en.json';

/** Every sentence of the console, in one file per language (English for head office). */
export const resources = { en: { translation: en } } as const;

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    resources: (typeof resources)['en'];
  }
}

export function setupI18n(): typeof i18next {
  void i18next.use(initReactI18next).init({
    resources,
    lng: 'en',
    fallbackLng: 'en',
    supportedLngs: ['en'],
    // The resources are in the bundle: ready before the first render.
    initAsync: false,
    // React escapes what it renders.
    interpolation: { escapeValue: false },
  });
  document.documentElement.lang = 'en';
  return i18next;
}
