import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Api } from '../api.ts';
import { parseIndianDate } from '../format.ts';
import { describeError } from '../i18n/errors.ts';
import { readLookup } from '../lookup.ts';
import { KeyButton, useShortcuts } from '../parts.tsx';
import type { MemberCard } from '../types.ts';

type EnrolProps = {
  api: Api;
  initialMobile: string;
  onEnrolled: (member: MemberCard) => void;
  onBack: () => void;
};

/** Enrol a customer: mobile, name, two optional dates, and SMS consent asked out loud. */
export function EnrolScreen({ api, initialMobile, onEnrolled, onBack }: EnrolProps) {
  const { t, i18n } = useTranslation();
  const [mobile, setMobile] = useState(initialMobile);
  const [name, setName] = useState('');
  const [birthday, setBirthday] = useState('');
  const [anniversary, setAnniversary] = useState('');
  // No default: the cashier must ask and record the answer.
  const [consent, setConsent] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [isConsentMissing, setConsentMissing] = useState(false);
  const [isBusy, setBusy] = useState(false);
  const mobileRef = useRef<HTMLInputElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const consentRef = useRef<HTMLInputElement>(null);
  const birthdayRef = useRef<HTMLInputElement>(null);
  const anniversaryRef = useRef<HTMLInputElement>(null);

  useShortcuts({
    Escape: () => {
      onBack();
      return true;
    },
  });

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const lookup = readLookup(mobile);
    if (lookup.kind !== 'mobile') {
      setError(t('enrol.badMobile'));
      mobileRef.current?.focus();
      return;
    }
    if (name.trim() === '') {
      setError(t('enrol.nameNeeded'));
      nameRef.current?.focus();
      return;
    }
    const birthdayIso = parseIndianDate(birthday);
    const anniversaryIso = parseIndianDate(anniversary);
    if (birthdayIso === undefined || anniversaryIso === undefined) {
      setError(t('enrol.badDate'));
      (birthdayIso === undefined ? birthdayRef : anniversaryRef).current?.focus();
      return;
    }
    if (consent === null) {
      setConsentMissing(true);
      setError(null);
      consentRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const enrolled = await api.enrol({
        mobile: lookup.e164,
        name: name.trim(),
        smsConsent: consent,
        ...(birthdayIso === '' ? {} : { birthday: birthdayIso }),
        ...(anniversaryIso === '' ? {} : { anniversary: anniversaryIso }),
      });
      onEnrolled(enrolled.member);
    } catch (failure) {
      setError(describeError(failure, t, i18n.language));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="panel enrol"
      onSubmit={(event) => {
        void submit(event);
      }}
      noValidate
      aria-labelledby="enrol-title"
    >
      <h1 id="enrol-title">{t('enrol.title')}</h1>
      <div className="form-grid">
        <label className="field">
          <span className="label">{t('enrol.mobile')}</span>
          <input
            ref={mobileRef}
            className="input"
            value={mobile}
            onChange={(event) => {
              setMobile(event.target.value);
            }}
            inputMode="tel"
            autoComplete="off"
            autoFocus={initialMobile === ''}
            data-testid="enrol-mobile"
          />
        </label>
        <label className="field">
          <span className="label">{t('enrol.name')}</span>
          <input
            ref={nameRef}
            className="input"
            value={name}
            onChange={(event) => {
              setName(event.target.value);
            }}
            autoComplete="off"
            autoFocus={initialMobile !== ''}
            maxLength={120}
            data-testid="enrol-name"
          />
        </label>
        <label className="field">
          <span className="label">{t('enrol.birthday')}</span>
          <input
            ref={birthdayRef}
            className="input"
            value={birthday}
            placeholder={t('common.datePlaceholder')}
            inputMode="numeric"
            autoComplete="off"
            maxLength={10}
            onChange={(event) => {
              setBirthday(event.target.value);
            }}
            data-testid="enrol-birthday"
          />
        </label>
        <label className="field">
          <span className="label">{t('enrol.anniversary')}</span>
          <input
            ref={anniversaryRef}
            className="input"
            value={anniversary}
            placeholder={t('common.datePlaceholder')}
            inputMode="numeric"
            autoComplete="off"
            maxLength={10}
            onChange={(event) => {
              setAnniversary(event.target.value);
            }}
            data-testid="enrol-anniversary"
          />
        </label>
      </div>
      <fieldset
        className={isConsentMissing && consent === null ? 'consent consent-missing' : 'consent'}
        aria-describedby="consent-help"
      >
        <legend className="consent-question" data-testid="enrol-consent-question">
          {t('enrol.consentQuestion')}
        </legend>
        <p className="hint" id="consent-help">
          {t('enrol.consentHelp')}
        </p>
        <div className="consent-choices">
          <label className="radio">
            <input
              ref={consentRef}
              type="radio"
              name="sms-consent"
              value="yes"
              checked={consent === true}
              onChange={() => {
                setConsent(true);
              }}
              required
              data-testid="enrol-consent-yes"
            />
            <span>{t('common.yes')}</span>
          </label>
          <label className="radio">
            <input
              type="radio"
              name="sms-consent"
              value="no"
              checked={consent === false}
              onChange={() => {
                setConsent(false);
              }}
              required
              data-testid="enrol-consent-no"
            />
            <span>{t('common.no')}</span>
          </label>
        </div>
        {isConsentMissing && consent === null && (
          <p className="message message-error" role="alert" data-testid="enrol-consent-error">
            {t('enrol.consentNeeded')}
          </p>
        )}
      </fieldset>
      {error !== null && (
        <p className="message message-error" role="alert" data-testid="enrol-error">
          {error}
        </p>
      )}
      <div className="actions">
        <KeyButton
          type="submit"
          tone="primary"
          shortcut="Enter"
          testId="enrol-submit"
          disabled={isBusy}
        >
          {t('enrol.submit')}
        </KeyButton>
        <KeyButton shortcut="Esc" testId="enrol-cancel" onClick={onBack}>
          {t('common.back')}
        </KeyButton>
      </div>
    </form>
  );
}
