import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConsoleSession } from '../../../../shared/protocol/console.ts';
import { client } from '../api.ts';
import { useAction } from '../hooks.ts';
import { Field, FormProblem, SaveButton } from '../parts/forms.tsx';

/**
 * A new chain's first admin, made with the one-time setup code central printed when it started
 * (also in its data folder); central checks the code and signs the new admin in.
 */
export function FirstAdmin(props: { onSignedIn: (session: ConsoleSession) => void }) {
  const { t } = useTranslation();
  const [form, setForm] = useState({ setupCode: '', username: '', name: '', password: '' });
  const action = useAction();
  const { problem } = action;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    let session: ConsoleSession | undefined;
    void action
      .run(async () => {
        session = await client.request<ConsoleSession>(
          'POST',
          '/api/console/setup',
          { ...form, username: form.username.trim() },
          { quiet401: true },
        );
      })
      .then((ok) => {
        if (ok && session) props.onSignedIn(session);
      });
  }

  const field = (key: keyof typeof form, type: string, autoComplete: string) => (
    <Field label={t(`setup.${key}`)} pointer={`/${key}`} problem={problem} testid={`setup-${key}`}>
      <input
        name={key}
        type={type}
        autoComplete={autoComplete}
        spellCheck={false}
        value={form[key]}
        onChange={(e) => {
          setForm({ ...form, [key]: e.target.value });
        }}
        data-testid={`setup-${key}`}
      />
    </Field>
  );

  return (
    <main className="sign-in">
      <form onSubmit={submit} className="card" data-testid="setup-form" noValidate>
        <h1>{t('setup.title')}</h1>
        <p className="muted">{t('setup.lead')}</p>
        {field('setupCode', 'text', 'one-time-code')}
        {field('username', 'text', 'username')}
        {field('name', 'text', 'name')}
        {field('password', 'password', 'new-password')}
        <FormProblem
          problem={problem}
          pointers={['/setupCode', '/username', '/name', '/password']}
          testid="setup-error"
        />
        <SaveButton isSaving={action.isSaving} label={t('setup.submit')} testid="setup-submit" />
      </form>
    </main>
  );
}
