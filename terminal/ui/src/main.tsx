import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { setupI18n } from './i18n/index.ts';
import { takeToken } from './token.ts';
import './styles.css';

const i18n = setupI18n();
const token = takeToken();
const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');

createRoot(root).render(
  <StrictMode>
    {token === null ? (
      <main className="no-token" role="alert" data-testid="no-token">
        <h1>{i18n.t('noToken.title')}</h1>
        <p>{i18n.t('noToken.body')}</p>
      </main>
    ) : (
      <App token={token} />
    )}
  </StrictMode>,
);
