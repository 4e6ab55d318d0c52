import type { ReactNode } from 'react';
import {
  formatCount,
  formatDateTime,
  formatPoints,
  formatRupees,
  formatRupeesSigned,
} from '../format.ts';
import { useTranslation } from 'react-i18next';
import type { ApiProblem } from '../problem.ts';

/**
 * Numbers in tables and figures: formatted for people, and the raw integer in `data-value` so a
 * test reads back exactly what central sent.
 */
export function Num(props: {
  value: number;
  kind: 'points' | 'paise' | 'count' | 'signed-points' | 'signed-paise';
  testid?: string;
  as?: 'td' | 'span' | 'strong';
}) {
  const text =
    props.kind === 'paise'
      ? formatRupees(props.value)
      : props.kind === 'signed-paise'
        ? formatRupeesSigned(props.value)
        : props.kind === 'count'
          ? formatCount(props.value)
          : formatPoints(props.value, props.kind === 'signed-points');
  const Tag = props.as ?? 'td';
  return (
    <Tag
      className={`num${props.value < 0 ? ' negative' : ''}`}
      data-value={props.value}
      data-testid={props.testid}
    >
      {text}
    </Tag>
  );
}

/** An instant in the chain's zone, with the ISO text in `data-value`. */
export function When(props: { at: string | null | undefined; testid?: string; empty?: string }) {
  return (
    <time dateTime={props.at ?? undefined} data-value={props.at ?? ''} data-testid={props.testid}>
      {props.at === null || props.at === undefined
        ? (props.empty ?? '—')
        : formatDateTime(props.at)}
    </time>
  );
}

/** "Loading…" the first time, and central's refusal when the list cannot be read. */
export function LoadState(props: {
  isLoading: boolean;
  problem: ApiProblem | undefined;
  hasData: boolean;
  testid: string;
}) {
  const { t } = useTranslation();
  if (props.problem) {
    return (
      <p className="load-problem" role="alert" data-testid={`${props.testid}-load-error`}>
        {props.problem.detail}
      </p>
    );
  }
  if (props.isLoading && !props.hasData) {
    return (
      <p className="loading" data-testid={`${props.testid}-loading`}>
        {t('common.loading')}
      </p>
    );
  }
  return null;
}

/** A table's empty state, as one full-width row. */
export function EmptyRow(props: { columns: number; testid: string; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={props.columns} className="empty" data-testid={props.testid}>
        {props.children}
      </td>
    </tr>
  );
}
