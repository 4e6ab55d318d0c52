import { useEffect, useRef, useState, type SubmitEvent, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiFailure, type Api } from '../api.ts';
import { describeError } from '../i18n/errors.ts';
import { Kbd, KeyButton } from '../parts.tsx';
import type { SignedIn, StaffView } from '../types.ts';

type SignInProps = {
  api: Api;
  onSignedIn: (signedIn: SignedIn) => void;
};

/** Choose your name (arrows, or type to filter), type the PIN, Enter. */
export function SignInScreen({ api, onSignedIn }: SignInProps) {
  const { t, i18n } = useTranslation();
  const [staff, setStaff] = useState<StaffView[] | null>(null);
  const [loadFailure, setLoadFailure] = useState<unknown>(null);
  const [filter, setFilter] = useState('');
  const [chosen, setChosen] = useState<string | null>(null);
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [isBusy, setBusy] = useState(false);
  const filterRef = useRef<HTMLInputElement>(null);
  const pinRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let isCurrent = true;
    api.staff().then(
      (answer) => {
        if (isCurrent) setStaff(answer.staff);
      },
      (failure: unknown) => {
        if (isCurrent) setLoadFailure(failure ?? new Error('no answer'));
      },
    );
    return () => {
      isCurrent = false;
    };
  }, [api]);

  const needle = filter.trim().toLowerCase();
  const shown = (staff ?? []).filter(
    (person) =>
      needle === '' ||
      person.name.toLowerCase().includes(needle) ||
      person.username.toLowerCase().startsWith(needle),
  );
  // The choice follows the filter: the first match unless the chosen name still shows.
  const selected = shown.find((person) => person.username === chosen) ?? shown[0] ?? null;

  function move(step: number): void {
    if (shown.length === 0) return;
    const index = selected === null ? -1 : shown.indexOf(selected);
    const next = shown[Math.min(shown.length - 1, Math.max(0, index + step))];
    if (next) setChosen(next.username);
  }

  function onListKey(event: KeyboardEvent<HTMLInputElement>): void {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      move(event.key === 'ArrowDown' ? 1 : -1);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (selected !== null) pinRef.current?.focus();
    }
  }

  function onPinKey(event: KeyboardEvent<HTMLInputElement>): void {
    if (event.key === 'Escape') {
      event.preventDefault();
      setPin('');
      setError(null);
      filterRef.current?.focus();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      move(event.key === 'ArrowDown' ? 1 : -1);
    }
  }

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (selected === null) {
      setError(t('signIn.chooseName'));
      filterRef.current?.focus();
      return;
    }
    if (!/^\d{4,8}$/.test(pin)) {
      setError(t('signIn.pinDigits'));
      pinRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api.signIn(selected.username, pin));
    } catch (failure) {
      setPin('');
      setError(
        failure instanceof ApiFailure && failure.code === 'wrong-pin' && i18n.language === 'hi'
          ? t('errors.wrong-pin')
          : describeError(failure, t, i18n.language),
      );
      pinRef.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="panel sign-in"
      onSubmit={(event) => {
        void submit(event);
      }}
      noValidate
    >
      <h1>{t('signIn.title')}</h1>
      <label className="field">
        <span className="label">{t('signIn.findName')}</span>
        <input
          ref={filterRef}
          className="input"
          value={filter}
          onChange={(event) => {
            setFilter(event.target.value);
          }}
          onKeyDown={onListKey}
          autoFocus
          autoComplete="off"
          spellCheck={false}
          role="combobox"
          aria-controls="staff-list"
          aria-expanded="true"
          aria-activedescendant={selected === null ? undefined : `staff-${selected.username}`}
          data-testid="signin-filter"
        />
      </label>
      {loadFailure !== null && (
        <p className="message message-error" role="alert" data-testid="signin-load-error">
          {describeError(loadFailure, t, i18n.language)}
        </p>
      )}
      {staff !== null && shown.length === 0 && (
        <p className="message" data-testid="signin-no-match">
          {t('signIn.noMatch')}
        </p>
      )}
      <ul className="choice-list" id="staff-list" role="listbox" data-testid="signin-staff-list">
        {shown.map((person) => (
          <li
            key={person.username}
            id={`staff-${person.username}`}
            role="option"
            aria-selected={person === selected}
            className={person === selected ? 'choice choice-active' : 'choice'}
            data-testid={`signin-staff-${person.username}`}
            onClick={() => {
              setChosen(person.username);
              pinRef.current?.focus();
            }}
          >
            <span className="choice-name">{person.name}</span>
            <span className="choice-detail">{t(`role.${person.role}`)}</span>
          </li>
        ))}
      </ul>
      <label className="field">
        <span className="label">
          {t('signIn.pin')}
          {selected !== null && <> — {selected.name}</>}
        </span>
        <input
          ref={pinRef}
          className="input input-pin"
          type="password"
          inputMode="numeric"
          autoComplete="off"
          maxLength={8}
          value={pin}
          onChange={(event) => {
            setPin(event.target.value.replace(/\D/g, ''));
          }}
          onKeyDown={onPinKey}
          data-testid="signin-pin"
        />
      </label>
      {error !== null && (
        <p className="message message-error" role="alert" data-testid="signin-error">
          {error}
        </p>
      )}
      <div className="actions">
        <KeyButton
          type="submit"
          tone="primary"
          shortcut="Enter"
          testId="signin-submit"
          disabled={isBusy}
        >
          {t('signIn.submit')}
        </KeyButton>
      </div>
      <p className="hint">
        <Kbd>↑</Kbd> <Kbd>↓</Kbd> {t('signIn.hint')}
      </p>
    </form>
  );
}
