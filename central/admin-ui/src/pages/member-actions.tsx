import { useEffect, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AdjustRequest, type Member } from '../../../../shared/protocol/api.ts';
import {
  MergeRequest,
  MobileChangeConfirmRequest,
  MobileChangeRequest,
  readSearchTerm,
  type MemberProfile,
  type MemberSearchResult,
  type MergeResult,
  type MobileChangeConfirmResult,
  type MobileChangeResult,
  type MobileChangeView,
} from '../../../../shared/protocol/members-admin.ts';
import { get, newIdempotencyKey, post } from '../api.ts';
import { formatCountdown } from '../format.ts';
import { useAction, useDebounced, useFetch, useNow } from '../hooks.ts';
import { Num, When } from '../parts/cells.tsx';
import { ConfirmDialog } from '../parts/confirm.tsx';
import { Field, FormProblem, SaveButton } from '../parts/forms.tsx';
import { withQuery } from '../query.ts';
import { checkWith } from '../validate.ts';
import { SEARCH_DEBOUNCE_MS } from './member-search.tsx';

/** A manager's adjustment: points up or down, and why (the reason is mandatory). */
export function AdjustPanel(props: { member: Member; onDone: (changed: boolean) => void }) {
  const { t } = useTranslation();
  const [points, setPoints] = useState('');
  const [reason, setReason] = useState('');
  // One key per adjustment: a retry after a lost answer is recognised, not applied twice.
  const [key, setKey] = useState(newIdempotencyKey);
  const [balanceAfter, setBalanceAfter] = useState<number | null>(null);
  const action = useAction();
  const { problem } = action;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const text = points.trim().replace(/^\+/, '');
    const checked = checkWith(AdjustRequest, {
      points: /^-?\d+$/.test(text) ? Number(text) : text,
      reason,
    });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    void action
      .run(async () => {
        const result = await post<{ balanceAfter: number }>(
          `/api/members/${props.member.id}/adjustments`,
          checked.data,
          { 'Idempotency-Key': key },
        );
        setBalanceAfter(result.balanceAfter);
      })
      .then((ok) => {
        if (ok) {
          setKey(newIdempotencyKey());
          setPoints('');
          setReason('');
        }
      });
  }

  return (
    <form className="card editor" onSubmit={submit} data-testid="adjust-form" noValidate>
      <h2>{t('adjust.title')}</h2>
      <p className="muted">{t('adjust.lead', { balance: props.member.balance })}</p>
      <div className="form-grid">
        <Field
          label={t('adjust.points')}
          pointer="/points"
          problem={problem}
          testid="adjust-points"
          hint={t('adjust.pointsHint')}
        >
          <input
            inputMode="numeric"
            value={points}
            onChange={(e) => {
              setPoints(e.target.value);
            }}
            data-testid="adjust-points"
          />
        </Field>
        <Field
          label={t('adjust.reason')}
          pointer="/reason"
          problem={problem}
          testid="adjust-reason"
          wide
        >
          <textarea
            rows={2}
            value={reason}
            onChange={(e) => {
              setReason(e.target.value);
            }}
            data-testid="adjust-reason"
          />
        </Field>
      </div>
      <FormProblem problem={problem} pointers={['/points', '/reason']} testid="adjust-error" />
      {balanceAfter !== null && (
        <p className="ok" role="status" data-testid="adjust-done">
          {t('adjust.done')}{' '}
          <Num value={balanceAfter} kind="points" as="strong" testid="adjust-balance-after" />
        </p>
      )}
      <div className="actions">
        <button
          type="button"
          disabled={action.isSaving}
          onClick={() => {
            props.onDone(balanceAfter !== null);
          }}
          data-testid="adjust-close"
        >
          {t('common.close')}
        </button>
        <SaveButton isSaving={action.isSaving} label={t('adjust.submit')} testid="adjust-submit" />
      </div>
    </form>
  );
}

/**
 * Change of mobile: the new number, then the two codes (one sent to the old number, one to the
 * new) confirmed together; resend and cancel while it waits.
 */
export function MobileChangePanel(props: {
  profile: MemberProfile;
  onDone: (changed: boolean) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const memberId = props.profile.member.id;
  const pending = props.profile.pendingMobileChange;
  const [change, setChange] = useState<MobileChangeView | null>(
    pending?.status === 'awaiting-otp' ? pending : null,
  );
  const [newMobile, setNewMobile] = useState('');
  const [oldCode, setOldCode] = useState('');
  const [newCode, setNewCode] = useState('');
  const [confirmed, setConfirmed] = useState<string | null>(null);
  const start = useAction();
  const confirm = useAction();
  const side = useAction();
  const now = useNow(1000);
  const base = `/api/members/${memberId}/mobile-change`;

  // While a code is still on its way, ask again every two seconds how its delivery went.
  const changeId = change?.id;
  const isSending =
    change?.status === 'awaiting-otp' &&
    (change.delivery.old === 'sending' || change.delivery.new === 'sending');
  useEffect(() => {
    if (!isSending || changeId === undefined) return;
    const timer = setInterval(() => {
      get<MobileChangeResult>(`${base}/${changeId}`).then(
        (result) => {
          setChange((current) => (current?.id === result.change.id ? result.change : current));
        },
        () => undefined,
      );
    }, 2000);
    return () => {
      clearInterval(timer);
    };
  }, [isSending, changeId, base]);

  function submitStart(event: SubmitEvent) {
    event.preventDefault();
    const checked = checkWith(MobileChangeRequest, { newMobile });
    if (!checked.ok) {
      start.setProblem(checked.problem);
      return;
    }
    void start.run(async () => {
      const result = await post<MobileChangeResult>(base, { newMobile: checked.data.newMobile });
      setChange(result.change);
    });
  }

  function submitConfirm(event: SubmitEvent) {
    event.preventDefault();
    if (!change) return;
    const checked = checkWith(MobileChangeConfirmRequest, {
      oldCode: oldCode.trim(),
      newCode: newCode.trim(),
    });
    if (!checked.ok) {
      confirm.setProblem(checked.problem);
      return;
    }
    void confirm
      .run(async () => {
        const result = await post<MobileChangeConfirmResult>(
          `${base}/${change.id}/confirm`,
          checked.data,
        );
        setChange(result.change);
        setConfirmed(result.member.mobile);
      })
      .then((ok) => {
        if (ok) props.onDone(true);
      });
  }

  function sideAction(what: 'resend' | 'cancel') {
    if (!change) return;
    void side.run(async () => {
      const result = await post<MobileChangeResult>(`${base}/${change.id}/${what}`, {});
      setChange(result.change.status === 'awaiting-otp' ? result.change : null);
      if (what === 'cancel') {
        setOldCode('');
        setNewCode('');
      }
    });
  }

  if (confirmed !== null) {
    return (
      <div className="card editor" data-testid="mobile-change-done">
        <h2>{t('mobile.title')}</h2>
        <p className="ok" role="status">
          {t('mobile.done', { mobile: confirmed })}
        </p>
        <div className="actions">
          <button type="button" onClick={props.onClose} data-testid="mobile-change-close">
            {t('common.close')}
          </button>
        </div>
      </div>
    );
  }

  if (!change) {
    return (
      <form
        className="card editor"
        onSubmit={submitStart}
        data-testid="mobile-change-form"
        noValidate
      >
        <h2>{t('mobile.title')}</h2>
        <p className="muted">{t('mobile.lead', { mobile: props.profile.member.mobile })}</p>
        <div className="form-row">
          <Field
            label={t('mobile.newMobile')}
            pointer="/newMobile"
            problem={start.problem}
            testid="mobile-new"
          >
            <input
              type="tel"
              value={newMobile}
              onChange={(e) => {
                setNewMobile(e.target.value);
              }}
              data-testid="mobile-new"
            />
          </Field>
          <button
            type="button"
            disabled={start.isSaving}
            onClick={props.onClose}
            data-testid="mobile-close"
          >
            {t('common.close')}
          </button>
          <SaveButton
            isSaving={start.isSaving}
            label={t('mobile.sendCodes')}
            testid="mobile-send"
          />
        </div>
        <FormProblem problem={start.problem} pointers={['/newMobile']} testid="mobile-error" />
        <FormProblem problem={side.problem} testid="mobile-side-error" />
      </form>
    );
  }

  const canResend =
    change.resendsLeft > 0 && (change.resendAt === null || Date.parse(change.resendAt) <= now);
  return (
    <form
      className="card editor"
      onSubmit={submitConfirm}
      data-testid="mobile-confirm-form"
      noValidate
    >
      <h2>{t('mobile.title')}</h2>
      <p data-testid="mobile-change-status" data-status={change.status}>
        {t('mobile.waiting', { old: change.oldMaskedMobile, new: change.newMaskedMobile })}{' '}
        <span data-testid="mobile-expires" data-value={change.expiresAt}>
          {t('mobile.expiresIn', { left: formatCountdown(change.expiresAt, now) })}
        </span>
      </p>
      <div className="form-row">
        <Field
          label={t('mobile.oldCode', { mobile: change.oldMaskedMobile })}
          pointer="/oldCode"
          problem={confirm.problem}
          testid="mobile-old-code"
          hint={t(`mobile.delivery.${change.delivery.old}`)}
        >
          <input
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            value={oldCode}
            onChange={(e) => {
              setOldCode(e.target.value);
            }}
            data-testid="mobile-old-code"
          />
        </Field>
        <Field
          label={t('mobile.newCode', { mobile: change.newMaskedMobile })}
          pointer="/newCode"
          problem={confirm.problem}
          testid="mobile-new-code"
          hint={t(`mobile.delivery.${change.delivery.new}`)}
        >
          <input
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            value={newCode}
            onChange={(e) => {
              setNewCode(e.target.value);
            }}
            data-testid="mobile-new-code"
          />
        </Field>
      </div>
      <p className="muted" data-testid="mobile-tries-left" data-value={change.triesLeft}>
        {t('mobile.triesLeft', { count: change.triesLeft })}
      </p>
      <FormProblem
        problem={confirm.problem}
        pointers={['/oldCode', '/newCode']}
        testid="mobile-confirm-error"
      />
      <FormProblem problem={side.problem} testid="mobile-side-error" />
      <div className="actions">
        <button
          type="button"
          className="danger"
          disabled={side.isSaving || confirm.isSaving}
          onClick={() => {
            sideAction('cancel');
          }}
          data-testid="mobile-cancel"
        >
          {t('mobile.cancel')}
        </button>
        <button
          type="button"
          disabled={!canResend || side.isSaving || confirm.isSaving}
          onClick={() => {
            sideAction('resend');
          }}
          data-testid="mobile-resend"
        >
          {change.resendAt !== null && Date.parse(change.resendAt) > now
            ? t('mobile.resendIn', { left: formatCountdown(change.resendAt, now) })
            : t('mobile.resend', { count: change.resendsLeft })}
        </button>
        <SaveButton
          isSaving={confirm.isSaving}
          label={t('mobile.confirm')}
          testid="mobile-confirm"
        />
      </div>
    </form>
  );
}

/** Merge two records of one person: pick the other, compare side by side, give a reason, confirm. */
export function MergePanel(props: {
  profile: MemberProfile;
  onClose: () => void;
  onMerged: (targetId: number) => void;
}) {
  const { t } = useTranslation();
  const current = props.profile;
  const [query, setQuery] = useState('');
  const settled = useDebounced(query, SEARCH_DEBOUNCE_MS);
  const term = settled.trim() === '' ? null : readSearchTerm(settled);
  const found = useFetch<MemberSearchResult>(
    term !== null && !('error' in term)
      ? withQuery('/api/members/search', { q: settled.trim(), limit: 10 })
      : null,
  );
  const [otherId, setOtherId] = useState<number | null>(null);
  const other = useFetch<MemberProfile>(
    otherId === null ? null : `/api/members/${otherId}/profile`,
  );
  // Which record survives: the one open (default) or the other.
  const [keepsCurrent, setKeepsCurrent] = useState(true);
  const [reason, setReason] = useState('');
  const [isConfirming, setConfirming] = useState(false);
  const action = useAction();

  const otherProfile = other.data;
  const target = keepsCurrent ? current : otherProfile;
  const source = keepsCurrent ? otherProfile : current;
  const candidates = (found.data?.members ?? []).filter(
    (m) => m.id !== current.member.id && m.mergedIntoMemberId === null,
  );

  function review(event: SubmitEvent) {
    event.preventDefault();
    if (!target || !source) return;
    const checked = checkWith(MergeRequest, { sourceMemberId: source.member.id, reason });
    if (!checked.ok) {
      action.setProblem(checked.problem);
      return;
    }
    action.setProblem(undefined);
    setConfirming(true);
  }

  function merge() {
    if (!target || !source) return;
    void action
      .run(() =>
        post<MergeResult>(`/api/members/${target.member.id}/merge`, {
          sourceMemberId: source.member.id,
          reason: reason.trim(),
        }),
      )
      .then((ok) => {
        if (ok) {
          setConfirming(false);
          props.onMerged(target.member.id);
        }
      });
  }

  return (
    <form className="card editor" onSubmit={review} data-testid="merge-form" noValidate>
      <h2>{t('merge.title')}</h2>
      <p className="muted">{t('merge.lead')}</p>
      <div className="form-row">
        <label className="field">
          <span className="field-label">{t('merge.find')}</span>
          <input
            type="search"
            value={query}
            autoComplete="off"
            onChange={(e) => {
              setQuery(e.target.value);
            }}
            data-testid="merge-search"
          />
        </label>
      </div>
      {term !== null && 'error' in term && <p className="field-hint">{term.error}</p>}
      {found.problem && <p className="field-error">{found.problem.detail}</p>}
      {candidates.length > 0 && (
        <ul className="pick-list" data-testid="merge-candidates">
          {candidates.map((m, i) => (
            <li key={m.id}>
              <button
                type="button"
                aria-pressed={otherId === m.id}
                onClick={() => {
                  setOtherId(m.id);
                }}
                data-testid={`merge-candidate-${i}`}
                data-member-id={m.id}
              >
                {m.name} · <span className="mono">{m.mobile}</span> ·{' '}
                {t('merge.points', { points: m.balance })}
              </button>
            </li>
          ))}
        </ul>
      )}
      {found.data && candidates.length === 0 && (
        <p className="muted" data-testid="merge-no-candidates">
          {t('members.noMatch')}
        </p>
      )}
      {other.problem && <p className="field-error">{other.problem.detail}</p>}
      {target && source && (
        <>
          <div className="side-by-side" data-testid="merge-compare">
            <MemberCard profile={source} role="source" />
            <div className="merge-arrow" aria-hidden="true">
              →
            </div>
            <MemberCard profile={target} role="target" />
          </div>
          <p>
            <button
              type="button"
              onClick={() => {
                setKeepsCurrent(!keepsCurrent);
              }}
              data-testid="merge-swap"
            >
              {t('merge.swap')}
            </button>
          </p>
          <Field
            label={t('merge.reason')}
            pointer="/reason"
            problem={action.problem}
            testid="merge-reason"
            wide
          >
            <textarea
              rows={2}
              value={reason}
              onChange={(e) => {
                setReason(e.target.value);
              }}
              data-testid="merge-reason"
            />
          </Field>
        </>
      )}
      <FormProblem
        problem={isConfirming ? undefined : action.problem}
        pointers={['/reason']}
        testid="merge-error"
      />
      <div className="actions">
        <button
          type="button"
          disabled={action.isSaving}
          onClick={props.onClose}
          data-testid="merge-close"
        >
          {t('common.close')}
        </button>
        <SaveButton
          isSaving={action.isSaving}
          disabled={!target || !source}
          label={t('merge.review')}
          testid="merge-review"
        />
      </div>
      <ConfirmDialog
        isOpen={isConfirming}
        title={t('merge.confirmTitle')}
        confirmLabel={t('merge.confirm')}
        isBusy={action.isSaving}
        problem={action.problem}
        testid="merge-confirm"
        onCancel={() => {
          setConfirming(false);
        }}
        onConfirm={merge}
      >
        {target && source && (
          <p>
            {t('merge.confirmBody', {
              source: source.member.name,
              sourceMobile: source.member.mobile,
              target: target.member.name,
              targetMobile: target.member.mobile,
              points: source.balance.points,
            })}
          </p>
        )}
      </ConfirmDialog>
    </form>
  );
}

function MemberCard(props: { profile: MemberProfile; role: 'source' | 'target' }) {
  const { t } = useTranslation();
  const { member, balance, stats } = props.profile;
  return (
    <dl
      className={`card facts merge-${props.role}`}
      data-testid={`merge-${props.role}`}
      data-member-id={member.id}
    >
      <dt className="merge-role">{t(`merge.role.${props.role}`)}</dt>
      <dd />
      <dt>{t('members.name')}</dt>
      <dd>{member.name}</dd>
      <dt>{t('members.mobile')}</dt>
      <dd className="mono">{member.mobile}</dd>
      <dt>{t('member.id')}</dt>
      <dd>{member.id}</dd>
      <dt>{t('member.balance')}</dt>
      <dd>
        <Num
          value={balance.points}
          kind="points"
          as="span"
          testid={`merge-${props.role}-balance`}
        />
      </dd>
      <dt>{t('member.enrolled')}</dt>
      <dd>
        <When at={member.enrolledAt} /> {member.enrolledShowroomCode ?? ''}
      </dd>
      <dt>{t('member.lastVisit')}</dt>
      <dd>
        <When at={props.profile.lastVisitAt} empty={t('members.never')} />
      </dd>
      <dt>{t('member.stats.sales')}</dt>
      <dd>
        <Num value={stats.sales} kind="count" as="span" /> ·{' '}
        <Num value={stats.amountPaise} kind="paise" as="span" />
      </dd>
      <dt>{t('member.consent')}</dt>
      <dd>{member.smsConsent ? t('member.consentYes') : t('member.consentNo')}</dd>
    </dl>
  );
}
