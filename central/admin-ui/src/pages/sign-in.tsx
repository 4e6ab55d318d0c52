import { useEffect, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConsoleSession } from '../../../../shared/protocol/console.ts';
import { client } from '../api.ts';
import { formatDateTime } from '../format.ts';
import { useAction } from '../hooks.ts';
import { Field, SaveButton } from '../parts/forms.tsx';
import { ApiProblem } from '../problem.ts';
import { FirstAdmin } from './first-admin.tsx';

/** Username and password; central sets the session cookie and hands back the CSRF token. */
export function SignIn(props: {
  onSignedIn: (session: ConsoleSession) => void;
  notice: string | undefined;
}) {
  const { t } = useTranslation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const { problem } = action;
  // A new chain has no admin yet: the first one is made with central's setup code.
  const [isSetupNeeded, setSetupNeeded] = useState(false);
  useEffect(() => {
    const controller = new AbortController();
    client
      .request<{ needed: boolean }>('GET', '/api/console/setup', undefined, {
        signal: controller.signal,
        quiet401: true,
      })
      .then(
        (state) => {
          setSetupNeeded(state.needed);
        },
        () => undefined,
      );
    return () => {
      controller.abort();
    };
  }, []);

  function submit(event: SubmitEvent) {
    event.preventDefault();
    // Only what a person can miss; central checks the rest (this screen loads no schemas).
    const errors = [
      ...(username.trim() === ''
        ? [{ pointer: '/username', message: t('signIn.needUsername') }]
        : []),
      ...(password === '' ? [{ pointer: '/password', message: t('signIn.needPassword') }] : []),
    ];
    if (errors.length > 0) {
      action.setProblem(
        new ApiProblem({
          status: 400,
          code: 'validation',
          title: '',
          detail: t('signIn.needBoth'),
          errors,
        }),
      );
      return;
    }
    const credentials = { username: username.trim(), password };
    let session: ConsoleSession | undefined;
    void action
      .run(async () => {
        session = await client.request<ConsoleSession>(
          'POST',
          '/api/console/session',
          credentials,
          { quiet401: true },
        );
      })
      .then((ok) => {
        if (ok && session) props.onSignedIn(session);
        else setPassword('');
      });
  }

  const isThrottled = problem?.status === 429;
  if (isSetupNeeded) return <FirstAdmin onSignedIn={props.onSignedIn} />;
  return (
    <main className="sign-in">
      <form onSubmit={submit} className="card" data-testid="signin-form" noValidate>
        <h1>{t('app.name')}</h1>
        <p className="muted">{t('signIn.lead')}</p>
        {props.notice !== undefined && !problem && (
          <p className="note" role="status" data-testid="signin-notice">
            {props.notice}
          </p>
        )}
        <Field
          label={t('signIn.username')}
          pointer="/username"
          problem={problem}
          testid="signin-username"
        >
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            autoFocus
            value={username}
            onChange={(e) => {
              setUsername(e.target.value);
            }}
            data-testid="signin-username"
          />
        </Field>
        <Field
          label={t('signIn.password')}
          pointer="/password"
          problem={problem}
          testid="signin-password"
        >
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => {
              setPassword(e.target.value);
            }}
            data-testid="signin-password"
          />
        </Field>
        {problem && (
          <div
            className={`form-problem${isThrottled ? ' throttled' : ''}`}
            role="alert"
            data-testid="signin-error"
            data-status={problem.status}
            data-code={problem.code}
          >
            <p>{problem.detail}</p>
            {isThrottled && problem.retryAfterSeconds !== null && (
              <p data-testid="signin-retry-at">
                {t('signIn.retryAt', {
                  time: formatDateTime(
                    new Date(problem.receivedAtMs + problem.retryAfterSeconds * 1000),
                  ),
                })}
              </p>
            )}
          </div>
        )}
        <SaveButton isSaving={action.isSaving} label={t('signIn.submit')} testid="signin-submit" />
      </form>
    </main>
  );
}
