import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import {
  ProgramSettingsPatch,
  type ProgramSettingsView,
} from '../../../../shared/protocol/admin.ts';
import { put } from '../api.ts';
import { useAction, useFetch } from '../hooks.ts';
import { PageHead, ReadOnlyNote } from '../layout.tsx';
import { LoadState, When } from '../parts/cells.tsx';
import { Field, FormProblem, SaveButton } from '../parts/forms.tsx';
import { useSession } from '../session.tsx';
import { formValuesOf, patchOf, type FormValues, type SettingField } from '../settings-form.ts';
import { checkWith } from '../validate.ts';

type Hint = 'pointValue' | 'maxBillSharePercent' | 'otpTtl' | 'wishSendAt';

type Group = {
  title: 'program' | 'notices' | 'otp' | 'wishes';
  fields: (SettingField & { label: string; hint?: Hint })[];
};

const GROUPS: Group[] = [
  {
    title: 'program',
    fields: [
      { pointer: '/chainName', kind: 'text', label: 'chainName' },
      { pointer: '/pointValuePaise', kind: 'rupees', label: 'pointValue', hint: 'pointValue' },
      { pointer: '/minRedeemPoints', kind: 'int', label: 'minRedeemPoints' },
      {
        pointer: '/maxBillSharePercent',
        kind: 'int',
        label: 'maxBillSharePercent',
        hint: 'maxBillSharePercent',
      },
      { pointer: '/cancelWithinMinutes', kind: 'int', label: 'cancelWithinMinutes' },
    ],
  },
  {
    title: 'notices',
    fields: [
      { pointer: '/earnNotices', kind: 'bool', label: 'earnNotices' },
      { pointer: '/redeemNotices', kind: 'bool', label: 'redeemNotices' },
    ],
  },
  {
    title: 'otp',
    fields: [
      { pointer: '/otp/ttlSeconds', kind: 'int', label: 'otpTtl', hint: 'otpTtl' },
      { pointer: '/otp/maxAttempts', kind: 'int', label: 'otpMaxAttempts' },
      { pointer: '/otp/resendIntervalSeconds', kind: 'int', label: 'otpResendInterval' },
      { pointer: '/otp/maxResends', kind: 'int', label: 'otpMaxResends' },
      { pointer: '/otp/perMemberPerHour', kind: 'int', label: 'otpPerMemberPerHour' },
      { pointer: '/otp/perMemberPerDay', kind: 'int', label: 'otpPerMemberPerDay' },
      { pointer: '/otp/perTerminalPerHour', kind: 'int', label: 'otpPerTerminalPerHour' },
    ],
  },
  {
    title: 'wishes',
    fields: [
      { pointer: '/wishes/birthday', kind: 'bool', label: 'wishBirthday' },
      { pointer: '/wishes/anniversary', kind: 'bool', label: 'wishAnniversary' },
      { pointer: '/wishes/sendAt', kind: 'time', label: 'wishSendAt', hint: 'wishSendAt' },
      { pointer: '/wishes/birthdayBonusPoints', kind: 'int', label: 'birthdayBonus' },
      { pointer: '/wishes/anniversaryBonusPoints', kind: 'int', label: 'anniversaryBonus' },
    ],
  },
];

const FIELDS = GROUPS.flatMap((g) => g.fields);
const POINTERS = FIELDS.map((f) => f.pointer);

/** `/otp/ttlSeconds` → `settings-otp-ttlSeconds`. */
const testidOf = (pointer: string) => `settings${pointer.replaceAll('/', '-')}`;

/** The program settings document: point value, redemption limits, notices, OTP limits, wishes. */
export function ProgramSettingsPage() {
  const { t } = useTranslation();
  const view = useFetch<ProgramSettingsView>('/api/settings/program');
  const [isSaved, setSaved] = useState(false);
  return (
    <section>
      <PageHead title={t('settings.title')} testid="settings-title" />
      <ReadOnlyNote />
      <LoadState
        isLoading={view.isLoading}
        problem={view.problem}
        hasData={view.data !== undefined}
        testid="settings"
      />
      {isSaved && (
        <p className="ok" role="status" data-testid="settings-saved">
          {t('settings.saved')}
        </p>
      )}
      {view.data && (
        <SettingsForm
          // A fresh form for each saved version: its boxes start from what is saved.
          key={view.data.updatedAt ?? 'defaults'}
          view={view.data}
          onSaved={() => {
            setSaved(true);
            view.reload();
          }}
          onEdit={() => {
            setSaved(false);
          }}
        />
      )}
    </section>
  );
}

function SettingsForm(props: {
  view: ProgramSettingsView;
  onSaved: () => void;
  onEdit: () => void;
}) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const saved = props.view.settings as unknown as Record<string, unknown>;
  const [values, setValues] = useState<FormValues>(() => formValuesOf(FIELDS, saved));
  const action = useAction();
  const { problem } = action;
  const patch = patchOf(FIELDS, saved, values);
  const hasChanges = Object.keys(patch).length > 0;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = checkWith(ProgramSettingsPatch, patch);
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action
      .run(() => put('/api/settings/program', checked.data))
      .then((ok) => {
        if (ok) props.onSaved();
      });
  }

  return (
    <form onSubmit={submit} data-testid="settings-form" noValidate>
      <p className="muted" data-testid="settings-updated">
        {props.view.updatedAt === null ? (
          t('settings.neverSaved')
        ) : (
          <>
            {t('settings.updated', { by: props.view.updatedBy ?? '—' })}{' '}
            <When at={props.view.updatedAt} />
          </>
        )}
      </p>
      <fieldset disabled={!isAdmin} className="plain-fieldset">
        {GROUPS.map((group) => (
          <fieldset key={group.title} className="card">
            <legend>{t(`settings.groups.${group.title}`)}</legend>
            <div className="form-grid">
              {group.fields.map((field) => {
                const testid = testidOf(field.pointer);
                const value = values[field.pointer];
                const hint =
                  field.hint === undefined ? undefined : t(`settings.hints.${field.hint}`);
                return (
                  <Field
                    key={field.pointer}
                    label={t(`settings.fields.${field.label}` as 'settings.fields.chainName')}
                    pointer={field.pointer}
                    problem={problem}
                    testid={testid}
                    {...(hint === undefined ? {} : { hint })}
                  >
                    {field.kind === 'bool' ? (
                      <input
                        type="checkbox"
                        checked={value === true}
                        onChange={(e) => {
                          const checked = e.target.checked;
                          setValues((v) => ({ ...v, [field.pointer]: checked }));
                          props.onEdit();
                        }}
                        data-testid={testid}
                      />
                    ) : (
                      <input
                        type={field.kind === 'time' ? 'time' : 'text'}
                        inputMode={
                          field.kind === 'int'
                            ? 'numeric'
                            : field.kind === 'rupees'
                              ? 'decimal'
                              : undefined
                        }
                        value={typeof value === 'string' ? value : ''}
                        onChange={(e) => {
                          const text = e.target.value;
                          setValues((v) => ({ ...v, [field.pointer]: text }));
                          props.onEdit();
                        }}
                        data-testid={testid}
                      />
                    )}
                  </Field>
                );
              })}
            </div>
          </fieldset>
        ))}
      </fieldset>
      <FormProblem problem={problem} pointers={POINTERS} testid="settings-error" />
      {isAdmin && (
        <div className="actions">
          <button
            type="button"
            disabled={!hasChanges || action.isSaving}
            onClick={() => {
              setValues(formValuesOf(FIELDS, saved));
              action.setProblem(undefined);
            }}
            data-testid="settings-reset"
          >
            {t('settings.undo')}
          </button>
          <SaveButton
            isSaving={action.isSaving}
            disabled={!hasChanges}
            label={t('common.save')}
            testid="settings-save"
          />
        </div>
      )}
    </form>
  );
}
