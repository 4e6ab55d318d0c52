import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import {
  SmsDlt,
  SmsTemplateUpdate,
  SmsTestRequest,
  type SmsSettingsView,
  type SmsTemplateView,
  type SmsTestResult,
} from '../../../../shared/protocol/admin.ts';
import { post, put, seg } from '../api.ts';
import { useAction, useFetch } from '../hooks.ts';
import { PageHead, ReadOnlyNote } from '../layout.tsx';
import { LoadState, When } from '../parts/cells.tsx';
import { Field, FormProblem, FormActions, SaveButton } from '../parts/forms.tsx';
import { ApiProblem } from '../problem.ts';
import { useSession } from '../session.tsx';
import {
  PROVIDER_FIELDS,
  PROVIDERS,
  providerOf,
  providerValuesOf,
  type ProviderName,
  type ProviderValues,
} from '../sms-provider.ts';
import { checkWith } from '../validate.ts';

const TEST_KINDS = ['earn', 'otp', 'redeem', 'birthday', 'anniversary'] as const;

/** SMS: the gateway (secrets masked), DLT entity and header, templates, a test message. */
export function SmsSettingsPage() {
  const { t } = useTranslation();
  const view = useFetch<SmsSettingsView>('/api/settings/sms');
  const data = view.data;
  return (
    <section>
      <PageHead title={t('sms.title')} testid="sms-title" />
      <ReadOnlyNote />
      <LoadState
        isLoading={view.isLoading}
        problem={view.problem}
        hasData={data !== undefined}
        testid="sms"
      />
      {data && (
        <>
          <p className="muted" data-testid="sms-source" data-value={data.source}>
            {t(`sms.source.${data.source}`)}
            {data.updatedAt !== null && (
              <>
                {' '}
                {t('settings.updated', { by: data.updatedBy ?? '—' })} <When at={data.updatedAt} />
              </>
            )}
          </p>
          {!data.editable && (
            <p className="note" data-testid="sms-read-only">
              {data.readOnlyReason}
            </p>
          )}
          <ProviderForm key={`p-${data.updatedAt ?? ''}`} view={data} onSaved={view.reload} />
          <DltForm key={`d-${data.updatedAt ?? ''}`} view={data} onSaved={view.reload} />
          <Templates view={data} onSaved={view.reload} />
          <TestMessage />
        </>
      )}
    </section>
  );
}

function ProviderForm(props: { view: SmsSettingsView; onSaved: () => void }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const saved = props.view.provider as Record<string, unknown>;
  const [name, setName] = useState<ProviderName>(props.view.provider.provider);
  const [values, setValues] = useState<ProviderValues>(() => providerValuesOf(name, saved));
  const action = useAction();
  const { problem } = action;
  const canEdit = isAdmin && props.view.editable;

  function choose(next: ProviderName) {
    setName(next);
    setValues(providerValuesOf(next, saved));
    action.setProblem(undefined);
  }

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const built = providerOf(name, values);
    if (!built.ok) {
      action.setProblem(
        new ApiProblem({
          status: 400,
          code: 'validation',
          title: 'The request is not valid',
          detail: t('sms.fixJson'),
          errors: built.errors,
        }),
      );
      return;
    }
    void action
      .run(() => put('/api/settings/sms', { provider: built.provider }))
      .then((ok) => {
        if (ok) props.onSaved();
      });
  }

  const fields = PROVIDER_FIELDS[name];
  return (
    <form className="card" onSubmit={submit} data-testid="sms-provider-form" noValidate>
      <h2>{t('sms.providerTitle')}</h2>
      <fieldset disabled={!canEdit} className="plain-fieldset">
        <div className="form-grid">
          <Field
            label={t('sms.provider')}
            pointer="/provider/provider"
            problem={problem}
            testid="sms-provider"
          >
            <select
              value={name}
              onChange={(e) => {
                choose(e.target.value as ProviderName);
              }}
              data-testid="sms-provider"
            >
              {PROVIDERS.map((p) => (
                <option key={p} value={p}>
                  {t(`sms.providers.${p}`)}
                </option>
              ))}
            </select>
          </Field>
          {fields.map((field) => {
            const testid = `sms-provider-${field.name}`;
            const value = values[field.name];
            const set = (next: string | boolean) => {
              setValues((v) => ({ ...v, [field.name]: next }));
            };
            return (
              <Field
                key={field.name}
                label={`${field.name}${field.required === true ? ' *' : ''}`}
                pointer={`/provider/${field.name}`}
                problem={problem}
                testid={testid}
                wide={field.kind === 'json' || field.kind === 'text-or-json'}
                {...(field.kind === 'secret' ? { hint: t('sms.secretHint') } : {})}
              >
                {field.kind === 'bool' ? (
                  <input
                    type="checkbox"
                    checked={value === true}
                    onChange={(e) => {
                      set(e.target.checked);
                    }}
                    data-testid={testid}
                  />
                ) : field.kind === 'choice' ? (
                  <select
                    value={typeof value === 'string' ? value : ''}
                    onChange={(e) => {
                      set(e.target.value);
                    }}
                    data-testid={testid}
                  >
                    {(field.choices ?? []).map((c) => (
                      <option key={c} value={c}>
                        {c === '' ? t('sms.defaultChoice') : c}
                      </option>
                    ))}
                  </select>
                ) : field.kind === 'json' || field.kind === 'text-or-json' ? (
                  <textarea
                    rows={4}
                    spellCheck={false}
                    value={typeof value === 'string' ? value : ''}
                    onChange={(e) => {
                      set(e.target.value);
                    }}
                    data-testid={testid}
                  />
                ) : (
                  <input
                    type={field.kind === 'secret' ? 'password' : 'text'}
                    autoComplete="off"
                    spellCheck={false}
                    inputMode={field.kind === 'int' ? 'numeric' : undefined}
                    value={typeof value === 'string' ? value : ''}
                    onChange={(e) => {
                      set(e.target.value);
                    }}
                    data-testid={testid}
                  />
                )}
              </Field>
            );
          })}
        </div>
      </fieldset>
      <FormProblem
        problem={problem}
        pointers={['/provider/provider', ...fields.map((f) => `/provider/${f.name}`)]}
        testid="sms-provider-error"
      />
      {canEdit && (
        <div className="actions">
          <SaveButton
            isSaving={action.isSaving}
            label={t('common.save')}
            testid="sms-provider-save"
          />
        </div>
      )}
    </form>
  );
}

function DltForm(props: { view: SmsSettingsView; onSaved: () => void }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const [entityId, setEntityId] = useState(props.view.dlt.entityId);
  const [header, setHeader] = useState(props.view.dlt.header);
  const [language, setLanguage] = useState(props.view.language);
  const action = useAction();
  const { problem } = action;
  const canEdit = isAdmin && props.view.editable;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = checkWith(SmsDlt, {
      entityId: entityId.trim(),
      header: header.trim().toUpperCase(),
    });
    if (!checked.ok) {
      action.setProblem(
        new ApiProblem({
          status: 400,
          code: 'validation',
          title: checked.problem.title,
          detail: checked.problem.detail,
          errors: checked.problem.errors.map((e) => ({ ...e, pointer: `/dlt${e.pointer}` })),
        }),
      );
      return;
    }
    void action
      .run(() => put('/api/settings/sms', { dlt: checked.data, language }))
      .then((ok) => {
        if (ok) props.onSaved();
      });
  }

  return (
    <form className="card" onSubmit={submit} data-testid="sms-dlt-form" noValidate>
      <h2>{t('sms.dltTitle')}</h2>
      <fieldset disabled={!canEdit} className="plain-fieldset">
        <div className="form-grid">
          <Field
            label={t('sms.entityId')}
            pointer="/dlt/entityId"
            problem={problem}
            testid="sms-dlt-entity"
            hint={t('sms.entityHint')}
          >
            <input
              inputMode="numeric"
              value={entityId}
              onChange={(e) => {
                setEntityId(e.target.value);
              }}
              data-testid="sms-dlt-entity"
            />
          </Field>
          <Field
            label={t('sms.header')}
            pointer="/dlt/header"
            problem={problem}
            testid="sms-dlt-header"
            hint={t('sms.headerHint')}
          >
            <input
              value={header}
              autoCapitalize="characters"
              onChange={(e) => {
                setHeader(e.target.value);
              }}
              data-testid="sms-dlt-header"
            />
          </Field>
          <Field
            label={t('sms.language')}
            pointer="/language"
            problem={problem}
            testid="sms-language"
          >
            <select
              value={language}
              onChange={(e) => {
                setLanguage(e.target.value === 'hi' ? 'hi' : 'en');
              }}
              data-testid="sms-language"
            >
              <option value="en">English</option>
              <option value="hi">हिन्दी</option>
            </select>
          </Field>
        </div>
      </fieldset>
      <FormProblem problem={problem} pointers={['/dlt', '/language']} testid="sms-dlt-error" />
      {canEdit && (
        <div className="actions">
          <SaveButton isSaving={action.isSaving} label={t('common.save')} testid="sms-dlt-save" />
        </div>
      )}
    </form>
  );
}

function Templates(props: { view: SmsSettingsView; onSaved: () => void }) {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const [editing, setEditing] = useState<string | null>(null);
  const entries = Object.entries(props.view.templates).sort(([a], [b]) => a.localeCompare(b));
  const canEdit = isAdmin && props.view.editable;
  const variablesOf = (name: string) =>
    props.view.kinds.find((k) => k.kind === name.split('.')[0])?.variables ?? [];
  return (
    <div className="card">
      <h2>{t('sms.templatesTitle')}</h2>
      <div className="table-wrap">
        <table data-testid="sms-templates-table">
          <thead>
            <tr>
              <th scope="col">{t('sms.template')}</th>
              <th scope="col">{t('sms.text')}</th>
              <th scope="col">{t('sms.variables')}</th>
              <th scope="col">{t('sms.dltTemplateId')}</th>
              {canEdit && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {entries.map(([name, template]) =>
              editing === name ? (
                <tr key={name} data-testid={`sms-template-row-${name}`}>
                  <td colSpan={canEdit ? 5 : 4}>
                    <TemplateEditor
                      name={name}
                      template={template}
                      allowed={variablesOf(name)}
                      onDone={(saved) => {
                        setEditing(null);
                        if (saved) props.onSaved();
                      }}
                    />
                  </td>
                </tr>
              ) : (
                <tr key={name} data-testid={`sms-template-row-${name}`}>
                  <td className="mono">{name}</td>
                  <td className="template-text" data-testid="sms-template-text">
                    {template.text}
                  </td>
                  <td>{template.variables.join(', ')}</td>
                  <td className="mono">{template.dltTemplateId}</td>
                  {canEdit && (
                    <td>
                      <button
                        type="button"
                        data-testid={`sms-template-edit-${name}`}
                        onClick={() => {
                          setEditing(name);
                        }}
                      >
                        {t('common.edit')}
                      </button>
                    </td>
                  )}
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function TemplateEditor(props: {
  name: string;
  template: SmsTemplateView;
  allowed: string[];
  onDone: (saved: boolean) => void;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState(props.template.text);
  const [variables, setVariables] = useState(props.template.variables.join(', '));
  const [dltTemplateId, setDltTemplateId] = useState(props.template.dltTemplateId);
  const [providerTemplateId, setProviderTemplateId] = useState(
    props.template.providerTemplateId ?? '',
  );
  const action = useAction();
  const { problem } = action;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = checkWith(SmsTemplateUpdate, {
      text,
      variables: variables
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== ''),
      dltTemplateId: dltTemplateId.trim(),
      ...(providerTemplateId.trim() === ''
        ? {}
        : { providerTemplateId: providerTemplateId.trim() }),
    });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action
      .run(() => put(`/api/settings/sms/templates/${seg(props.name)}`, checked.data))
      .then((ok) => {
        if (ok) props.onDone(true);
      });
  }

  return (
    <form onSubmit={submit} data-testid="sms-template-form" noValidate>
      <h3>{t('sms.editTemplate', { name: props.name })}</h3>
      <div className="form-grid">
        <Field
          label={t('sms.text')}
          pointer="/text"
          problem={problem}
          testid="sms-template-text-input"
          wide
          hint={t('sms.textHint')}
        >
          <textarea
            rows={3}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
            }}
            data-testid="sms-template-text-input"
          />
        </Field>
        <Field
          label={t('sms.variables')}
          pointer="/variables"
          problem={problem}
          testid="sms-template-variables"
          hint={t('sms.variablesHint', { allowed: props.allowed.join(', ') || '—' })}
        >
          <input
            value={variables}
            onChange={(e) => {
              setVariables(e.target.value);
            }}
            data-testid="sms-template-variables"
          />
        </Field>
        <Field
          label={t('sms.dltTemplateId')}
          pointer="/dltTemplateId"
          problem={problem}
          testid="sms-template-dlt"
        >
          <input
            inputMode="numeric"
            value={dltTemplateId}
            onChange={(e) => {
              setDltTemplateId(e.target.value);
            }}
            data-testid="sms-template-dlt"
          />
        </Field>
        <Field
          label={t('sms.providerTemplateId')}
          pointer="/providerTemplateId"
          problem={problem}
          testid="sms-template-provider-id"
        >
          <input
            value={providerTemplateId}
            onChange={(e) => {
              setProviderTemplateId(e.target.value);
            }}
            data-testid="sms-template-provider-id"
          />
        </Field>
      </div>
      <FormProblem
        problem={problem}
        pointers={['/text', '/variables', '/dltTemplateId', '/providerTemplateId']}
        testid="sms-template-error"
      />
      <FormActions
        isSaving={action.isSaving}
        onCancel={() => {
          props.onDone(false);
        }}
        cancelTestid="sms-template-cancel"
        saveLabel={t('common.save')}
        saveTestid="sms-template-save"
      />
    </form>
  );
}

function TestMessage() {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const [mobile, setMobile] = useState('');
  const [kind, setKind] = useState<(typeof TEST_KINDS)[number]>('earn');
  const [result, setResult] = useState<SmsTestResult | null>(null);
  const action = useAction();
  const { problem } = action;
  if (!isAdmin) return null;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    setResult(null);
    const checked = checkWith(SmsTestRequest, { mobile, kind });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    // The mobile goes as typed: central normalises it with the same rules.
    void action.run(async () => {
      setResult(await post<SmsTestResult>('/api/settings/sms/test', { mobile, kind }));
    });
  }

  return (
    <form className="card" onSubmit={submit} data-testid="sms-test-form" noValidate>
      <h2>{t('sms.testTitle')}</h2>
      <div className="form-row">
        <Field
          label={t('sms.testMobile')}
          pointer="/mobile"
          problem={problem}
          testid="sms-test-mobile"
        >
          <input
            type="tel"
            value={mobile}
            onChange={(e) => {
              setMobile(e.target.value);
            }}
            data-testid="sms-test-mobile"
          />
        </Field>
        <Field label={t('sms.testKind')} pointer="/kind" problem={problem} testid="sms-test-kind">
          <select
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as (typeof TEST_KINDS)[number]);
            }}
            data-testid="sms-test-kind"
          >
            {TEST_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </Field>
        <SaveButton isSaving={action.isSaving} label={t('sms.send')} testid="sms-test-send" />
      </div>
      <FormProblem problem={problem} pointers={['/mobile', '/kind']} testid="sms-test-error" />
      {result && (
        <div
          className={result.ok ? 'ok' : 'form-problem'}
          role="status"
          data-testid="sms-test-result"
          data-ok={String(result.ok)}
        >
          <p>
            {result.ok
              ? t('sms.testSent', {
                  to: result.to,
                  provider: result.provider,
                  id: result.providerMessageId ?? '—',
                })
              : t('sms.testFailed', { to: result.to, error: result.error ?? '' })}
          </p>
          <p className="template-text" data-testid="sms-test-text">
            {result.text}
          </p>
        </div>
      )}
    </form>
  );
}
