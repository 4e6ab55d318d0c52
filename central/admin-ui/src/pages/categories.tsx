import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import {
  CreateCategoryRequest,
  RatePreviewRequest,
  ScheduleRateRequest,
  UpdateCategoryRequest,
  type CategoryRatesView,
  type RatePreview,
  type RatesList,
  type RateView,
} from '../../../../shared/protocol/admin.ts';
import { del, post, put, seg } from '../api.ts';
import { addDays } from '../dates.ts';
import { calendarDateIn, formatIsoDate, zonedInstant } from '../format.ts';
import { useAction, useFetch } from '../hooks.ts';
import { PageHead, ReadOnlyNote } from '../layout.tsx';
import { EmptyRow, LoadState, Num, When } from '../parts/cells.tsx';
import { ConfirmDialog } from '../parts/confirm.tsx';
import { Field, FormProblem, FormActions, SaveButton } from '../parts/forms.tsx';
import { useSession } from '../session.tsx';
import { checkWith } from '../validate.ts';

/** Tomorrow 00:00 in the chain's zone, as a datetime-local value: a rate's usual start. */
function tomorrowMidnight(): string {
  return `${addDays(calendarDateIn(new Date()), 1)}T00:00`;
}

function parseRate(text: string): number | string {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : text;
}

type Cancelling = { category: CategoryRatesView; rate: RateView } | null;

/** Categories and their earn rates: in force, scheduled, and a preview of a change. */
export function Categories() {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const list = useFetch<RatesList>('/api/rates');
  const [isAdding, setAdding] = useState(false);
  const [renaming, setRenaming] = useState<CategoryRatesView | null>(null);
  const [scheduleFor, setScheduleFor] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState<Cancelling>(null);
  const cancel = useAction();
  const categories = list.data?.categories ?? [];
  return (
    <section>
      <PageHead title={t('categories.title')} testid="categories-title">
        {isAdmin && (
          <button
            type="button"
            className="primary"
            data-testid="category-add"
            onClick={() => {
              setAdding(true);
            }}
          >
            {t('categories.add')}
          </button>
        )}
      </PageHead>
      <ReadOnlyNote />
      {isAdding && (
        <AddCategory
          onDone={(saved) => {
            setAdding(false);
            if (saved) list.reload();
          }}
        />
      )}
      {renaming && (
        <RenameCategory
          key={renaming.code}
          category={renaming}
          onDone={(saved) => {
            setRenaming(null);
            if (saved) list.reload();
          }}
        />
      )}
      {scheduleFor !== null && (
        <ScheduleRate
          key={scheduleFor}
          code={scheduleFor}
          onDone={(saved) => {
            setScheduleFor(null);
            if (saved) list.reload();
          }}
        />
      )}
      <LoadState
        isLoading={list.isLoading}
        problem={list.problem}
        hasData={list.data !== undefined}
        testid="categories"
      />
      <div className="table-wrap">
        <table data-testid="categories-table">
          <thead>
            <tr>
              <th scope="col">{t('categories.code')}</th>
              <th scope="col">{t('categories.name')}</th>
              <th scope="col" className="num">
                {t('categories.rateInForce')}
              </th>
              <th scope="col">{t('categories.since')}</th>
              <th scope="col">{t('categories.scheduled')}</th>
              {isAdmin && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {categories.map((c) => {
              const scheduled = c.rates.filter((r) => r.status === 'scheduled');
              return (
                <tr key={c.code} data-testid={`category-row-${c.code}`}>
                  <td className="mono">{c.code}</td>
                  <td>{c.name}</td>
                  {c.rateInForce ? (
                    <Num
                      value={c.rateInForce.pointsPer100Rupees}
                      kind="points"
                      testid="category-rate"
                    />
                  ) : (
                    <td className="num" data-testid="category-rate" data-value="">
                      —
                    </td>
                  )}
                  <td>
                    <When at={c.rateInForce?.effectiveFrom} />
                  </td>
                  <td>
                    {scheduled.length === 0 ? (
                      <span className="muted">{t('categories.noneScheduled')}</span>
                    ) : (
                      <ul className="plain" data-testid={`category-scheduled-${c.code}`}>
                        {scheduled.map((r) => (
                          <li
                            key={r.id}
                            data-testid={`scheduled-rate-${r.id}`}
                            data-value={r.pointsPer100Rupees}
                          >
                            {t('categories.scheduledRate', { rate: r.pointsPer100Rupees })}{' '}
                            <When at={r.effectiveFrom} />
                            {isAdmin && r.cancellable && (
                              <>
                                {' '}
                                <button
                                  type="button"
                                  className="link danger"
                                  data-testid={`scheduled-rate-cancel-${r.id}`}
                                  onClick={() => {
                                    cancel.setProblem(undefined);
                                    setCancelling({ category: c, rate: r });
                                  }}
                                >
                                  {t('categories.cancelRate')}
                                </button>
                              </>
                            )}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  {isAdmin && (
                    <td className="nowrap">
                      <button
                        type="button"
                        data-testid={`category-schedule-${c.code}`}
                        onClick={() => {
                          setScheduleFor(c.code);
                        }}
                      >
                        {t('categories.schedule')}
                      </button>{' '}
                      <button
                        type="button"
                        data-testid={`category-rename-${c.code}`}
                        onClick={() => {
                          setRenaming(c);
                        }}
                      >
                        {t('categories.rename')}
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
            {list.data && categories.length === 0 && (
              <EmptyRow columns={isAdmin ? 6 : 5} testid="categories-empty">
                {t('categories.empty')}
              </EmptyRow>
            )}
          </tbody>
        </table>
      </div>
      <RatePreviewPanel categories={categories} />
      <ConfirmDialog
        isOpen={cancelling !== null}
        title={t('categories.cancelTitle')}
        confirmLabel={t('categories.cancelRate')}
        isBusy={cancel.isSaving}
        problem={cancel.problem}
        testid="cancel-rate"
        onCancel={() => {
          setCancelling(null);
        }}
        onConfirm={() => {
          if (!cancelling) return;
          void cancel
            .run(() =>
              del(`/api/categories/${seg(cancelling.category.code)}/rates/${cancelling.rate.id}`),
            )
            .then((ok) => {
              if (ok) {
                setCancelling(null);
                list.reload();
              }
            });
        }}
      >
        {cancelling && (
          <p>
            {t('categories.cancelBody', {
              code: cancelling.category.code,
              rate: cancelling.rate.pointsPer100Rupees,
            })}{' '}
            <When at={cancelling.rate.effectiveFrom} />
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

function AddCategory(props: { onDone: (saved: boolean) => void }) {
  const { t } = useTranslation();
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [rate, setRate] = useState('');
  const [from, setFrom] = useState('');
  const action = useAction();
  const { problem } = action;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const effectiveFrom = from === '' ? undefined : (zonedInstant(from) ?? from);
    const checked = checkWith(CreateCategoryRequest, {
      code: code.trim().toUpperCase(),
      name,
      pointsPer100Rupees: parseRate(rate),
      ...(effectiveFrom === undefined ? {} : { effectiveFrom }),
    });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action
      .run(() => post('/api/categories', checked.data))
      .then((ok) => {
        if (ok) props.onDone(true);
      });
  }

  return (
    <form className="card editor" onSubmit={submit} data-testid="category-form" noValidate>
      <h2>{t('categories.addTitle')}</h2>
      <div className="form-grid">
        <Field
          label={t('categories.code')}
          pointer="/code"
          problem={problem}
          testid="category-code"
          hint={t('showrooms.codeHint')}
        >
          <input
            value={code}
            autoCapitalize="characters"
            onChange={(e) => {
              setCode(e.target.value);
            }}
            data-testid="category-code"
          />
        </Field>
        <Field
          label={t('categories.name')}
          pointer="/name"
          problem={problem}
          testid="category-name"
        >
          <input
            value={name}
            onChange={(e) => {
              setName(e.target.value);
            }}
            data-testid="category-name"
          />
        </Field>
        <Field
          label={t('categories.rate')}
          pointer="/pointsPer100Rupees"
          problem={problem}
          testid="category-rate-input"
          hint={t('categories.rateHint')}
        >
          <input
            inputMode="numeric"
            value={rate}
            onChange={(e) => {
              setRate(e.target.value);
            }}
            data-testid="category-rate-input"
          />
        </Field>
        <Field
          label={t('categories.effectiveFromOptional')}
          pointer="/effectiveFrom"
          problem={problem}
          testid="category-from"
        >
          <input
            type="datetime-local"
            value={from}
            onChange={(e) => {
              setFrom(e.target.value);
            }}
            data-testid="category-from"
          />
        </Field>
      </div>
      <FormProblem
        problem={problem}
        pointers={['/code', '/name', '/pointsPer100Rupees', '/effectiveFrom']}
        testid="category-error"
      />
      <FormActions
        isSaving={action.isSaving}
        onCancel={() => {
          props.onDone(false);
        }}
        cancelTestid="category-cancel"
        saveLabel={t('common.save')}
        saveTestid="category-save"
      />
    </form>
  );
}

function RenameCategory(props: { category: CategoryRatesView; onDone: (saved: boolean) => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(props.category.name);
  const action = useAction();

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = checkWith(UpdateCategoryRequest, { name });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action
      .run(() => put(`/api/categories/${seg(props.category.code)}`, checked.data))
      .then((ok) => {
        if (ok) props.onDone(true);
      });
  }

  return (
    <form className="card editor" onSubmit={submit} data-testid="category-rename-form" noValidate>
      <h2>{t('categories.renameTitle', { code: props.category.code })}</h2>
      <div className="form-row">
        <Field
          label={t('categories.name')}
          pointer="/name"
          problem={action.problem}
          testid="category-rename-name"
        >
          <input
            value={name}
            onChange={(e) => {
              setName(e.target.value);
            }}
            data-testid="category-rename-name"
          />
        </Field>
        <button
          type="button"
          disabled={action.isSaving}
          onClick={() => {
            props.onDone(false);
          }}
          data-testid="category-rename-cancel"
        >
          {t('common.cancel')}
        </button>
        <SaveButton
          isSaving={action.isSaving}
          label={t('common.save')}
          testid="category-rename-save"
        />
      </div>
      <FormProblem problem={action.problem} pointers={['/name']} testid="category-rename-error" />
    </form>
  );
}

function ScheduleRate(props: { code: string; onDone: (saved: boolean) => void }) {
  const { t } = useTranslation();
  const [rate, setRate] = useState('');
  const [from, setFrom] = useState(tomorrowMidnight);
  const action = useAction();
  const { problem } = action;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = checkWith(ScheduleRateRequest, {
      pointsPer100Rupees: parseRate(rate),
      effectiveFrom: zonedInstant(from) ?? from,
    });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action
      .run(() => post(`/api/categories/${seg(props.code)}/rates`, checked.data))
      .then((ok) => {
        if (ok) props.onDone(true);
      });
  }

  return (
    <form className="card editor" onSubmit={submit} data-testid="schedule-form" noValidate>
      <h2>{t('categories.scheduleTitle', { code: props.code })}</h2>
      <p className="muted">{t('categories.scheduleLead')}</p>
      <div className="form-row">
        <Field
          label={t('categories.rate')}
          pointer="/pointsPer100Rupees"
          problem={problem}
          testid="schedule-rate"
          hint={t('categories.rateHint')}
        >
          <input
            inputMode="numeric"
            value={rate}
            onChange={(e) => {
              setRate(e.target.value);
            }}
            data-testid="schedule-rate"
          />
        </Field>
        <Field
          label={t('categories.effectiveFrom')}
          pointer="/effectiveFrom"
          problem={problem}
          testid="schedule-from"
        >
          <input
            type="datetime-local"
            value={from}
            onChange={(e) => {
              setFrom(e.target.value);
            }}
            data-testid="schedule-from"
          />
        </Field>
      </div>
      <FormProblem
        problem={problem}
        pointers={['/pointsPer100Rupees', '/effectiveFrom']}
        testid="schedule-error"
      />
      <FormActions
        isSaving={action.isSaving}
        onCancel={() => {
          props.onDone(false);
        }}
        cancelTestid="schedule-cancel"
        saveLabel={t('categories.schedule')}
        saveTestid="schedule-save"
      />
    </form>
  );
}

/**
 * What proposed rates would have earned on last month's sales (or another period), category by
 * category, against what was earned. Nothing is saved.
 */
function RatePreviewPanel(props: { categories: CategoryRatesView[] }) {
  const { t } = useTranslation();
  const [proposed, setProposed] = useState<Record<string, string>>({});
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [preview, setPreview] = useState<RatePreview | null>(null);
  // The codes in the order they were sent: an error at /changes/N belongs to the Nth of them.
  const [sentCodes, setSentCodes] = useState<string[]>([]);
  const action = useAction();
  const { problem } = action;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const changes = Object.entries(proposed)
      .filter(([, text]) => text.trim() !== '')
      .map(([categoryCode, text]) => ({ categoryCode, pointsPer100Rupees: parseRate(text) }));
    setSentCodes(changes.map((c) => c.categoryCode));
    const checked = checkWith(RatePreviewRequest, {
      changes,
      ...(from === '' ? {} : { from }),
      ...(to === '' ? {} : { to }),
    });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action.run(async () => {
      setPreview(await post<RatePreview>('/api/rates/preview', checked.data));
    });
  }

  const changePointers = sentCodes.map((_, i) => `/changes/${i}`);
  return (
    <form className="card" onSubmit={submit} data-testid="preview-form" noValidate>
      <h2>{t('preview.title')}</h2>
      <p className="muted">{t('preview.lead')}</p>
      <div className="preview-inputs">
        {props.categories.map((c) => (
          <Field
            key={c.code}
            label={`${c.code} (${t('preview.now', { rate: c.rateInForce?.pointsPer100Rupees ?? '—' })})`}
            pointer={
              sentCodes.includes(c.code) ? `/changes/${sentCodes.indexOf(c.code)}` : `/-${c.code}`
            }
            problem={problem}
            testid={`preview-rate-${c.code}`}
          >
            <input
              inputMode="numeric"
              placeholder={String(c.rateInForce?.pointsPer100Rupees ?? '')}
              value={proposed[c.code] ?? ''}
              onChange={(e) => {
                const value = e.target.value;
                setProposed((p) => ({ ...p, [c.code]: value }));
              }}
              data-testid={`preview-rate-${c.code}`}
            />
          </Field>
        ))}
      </div>
      <div className="form-row">
        <Field
          label={t('preview.from')}
          pointer="/from"
          problem={problem}
          testid="preview-from"
          hint={t('preview.periodHint')}
        >
          <input
            type="date"
            value={from}
            onChange={(e) => {
              setFrom(e.target.value);
            }}
            data-testid="preview-from"
          />
        </Field>
        <Field label={t('preview.to')} pointer="/to" problem={problem} testid="preview-to">
          <input
            type="date"
            value={to}
            onChange={(e) => {
              setTo(e.target.value);
            }}
            data-testid="preview-to"
          />
        </Field>
        <SaveButton isSaving={action.isSaving} label={t('preview.run')} testid="preview-run" />
      </div>
      <FormProblem
        problem={problem}
        pointers={[...changePointers, '/from', '/to']}
        testid="preview-error"
      />
      {preview && <PreviewTable preview={preview} />}
    </form>
  );
}

function PreviewTable(props: { preview: RatePreview }) {
  const { t } = useTranslation();
  const { preview } = props;
  return (
    <div className="table-wrap" data-testid="preview-result">
      <p data-testid="preview-period">
        {t('preview.period', { from: formatIsoDate(preview.from), to: formatIsoDate(preview.to) })}
      </p>
      <table data-testid="preview-table">
        <thead>
          <tr>
            <th scope="col">{t('preview.category')}</th>
            <th scope="col" className="num">
              {t('preview.currentRate')}
            </th>
            <th scope="col" className="num">
              {t('preview.proposedRate')}
            </th>
            <th scope="col" className="num">
              {t('preview.lines')}
            </th>
            <th scope="col" className="num">
              {t('preview.amount')}
            </th>
            <th scope="col" className="num">
              {t('preview.earned')}
            </th>
            <th scope="col" className="num">
              {t('preview.wouldEarn')}
            </th>
            <th scope="col" className="num">
              {t('preview.difference')}
            </th>
            <th scope="col" className="num">
              {t('preview.differenceValue')}
            </th>
          </tr>
        </thead>
        <tbody>
          {preview.categories.map((c) => (
            <tr key={c.categoryCode} data-testid={`preview-row-${c.categoryCode}`}>
              <td>
                <span className="mono">{c.categoryCode}</span> {c.name}
              </td>
              <td className="num" data-value={c.currentRate ?? ''}>
                {c.currentRate ?? '—'}
              </td>
              <td className="num" data-value={c.proposedRate ?? ''}>
                {c.proposedRate ?? '—'}
              </td>
              <Num value={c.lines} kind="count" testid="preview-lines" />
              <Num value={c.amountPaise} kind="paise" testid="preview-amount" />
              <Num value={c.pointsEarned} kind="points" testid="preview-earned" />
              <Num value={c.pointsProposed} kind="points" testid="preview-proposed" />
              <Num value={c.pointsDifference} kind="signed-points" testid="preview-difference" />
              <Num
                value={c.differenceValuePaise}
                kind="signed-paise"
                testid="preview-difference-value"
              />
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr data-testid="preview-totals">
            <th scope="row">{t('common.total')}</th>
            <td />
            <td />
            <Num value={preview.totals.lines} kind="count" testid="preview-lines" />
            <Num value={preview.totals.amountPaise} kind="paise" testid="preview-amount" />
            <Num value={preview.totals.pointsEarned} kind="points" testid="preview-earned" />
            <Num value={preview.totals.pointsProposed} kind="points" testid="preview-proposed" />
            <Num
              value={preview.totals.pointsDifference}
              kind="signed-points"
              testid="preview-difference"
            />
            <Num
              value={preview.totals.differenceValuePaise}
              kind="signed-paise"
              testid="preview-difference-value"
            />
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
