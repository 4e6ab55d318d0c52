import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en.json';
import hi from './hi.json';

/** The screen's languages; the choice is remembered on this counter. */
export type Language = 'en' | 'hi';

const STORAGE_KEY = 'showroom-loyalty.language';

export const resources = { en: { translation: en }, hi: { translation: hi } } as const;

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    resources: (typeof resources)['en'];
  }
}

export function savedLanguage(): Language {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'hi' ? 'hi' : 'en';
  } catch {
    return 'en';
  }
}

export function setupI18n(): typeof i18next {
  const language = savedLanguage();
  void i18next.use(initReactI18next).init({
    resources,
    lng: language,
    fallbackLng: 'en',
    supportedLngs: ['en', 'hi'],
    // The resources are in the bundle: ready before the first render.
    initAsync: false,
    // React escapes what it renders.
    interpolation: { escapeValue: false },
  });
  document.documentElement.lang = language;
  return i18next;
}

export async function changeLanguage(language: Language): Promise<void> {
  await i18next.changeLanguage(language);
  document.documentElement.lang = language;
  try {
    localStorage.setItem(STORAGE_KEY, language);
  } catch {
    // A counter with storage switched off still switches; it just forgets at the next start.
  }
}
