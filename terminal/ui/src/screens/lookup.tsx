import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiFailure, type Api } from '../api.ts';
import { formatDate, formatPoints } from '../format.ts';
import { describeError } from '../i18n/errors.ts';
import { readLookup, suggestionQuery } from '../lookup.ts';
import { Kbd, KeyButton, useShortcuts } from '../parts.tsx';
import type { MemberCard } from '../types.ts';

type LookupProps = {
  api: Api;
  initialText: string;
  onOpen: (member: MemberCard) => void;
  onEnrol: (mobileText: string) => void;
};

/** What the counter answered for one query. */
type Answer = { query: string; members: MemberCard[]; isNotMember: boolean; failure: unknown };

/**
 * No pause before asking: the counter is on loopback and answers in a millisecond or two, and an
 * answer for a query the cashier has already typed past is dropped. A pause would only add its
 * own length to every keystroke's wait.
 */
const TYPE_AHEAD_MS = 0;

/** Find a member: one field for a mobile (or its last digits) or a name, matches as you type. */
export function LookupScreen({ api, initialText, onOpen, onEnrol }: LookupProps) {
  const { t, i18n } = useTranslation();
  const [text, setText] = useState(initialText);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [activeIndex, setActiveIndex] = useState(0);
  const inputRef = useRef<HTMLInputElement>(null);

  const lookup = readLookup(text);
  const query = suggestionQuery(lookup);
  const current = answer !== null && answer.query === query ? answer : null;
  const members = current?.members ?? [];
  const active = members[Math.min(activeIndex, members.length - 1)];

  useEffect(() => {
    if (query === undefined) return;
    let isCurrent = true;
    const timer = setTimeout(() => {
      const settle = (next: Omit<Answer, 'query'>): void => {
        if (isCurrent) {
          setAnswer({ query, ...next });
          setActiveIndex(0);
        }
      };
      const exact = readLookup(query);
      const request =
        exact.kind === 'mobile'
          ? api.member(exact.e164).then((member) => [member])
          : api.suggest(query).then((found) => found.members);
      request.then(
        (found) => {
          settle({ members: found, isNotMember: false, failure: null });
        },
        (failure: unknown) => {
          const isNotMember =
            failure instanceof ApiFailure &&
            (failure.code === 'not-found' || failure.code === 'not-a-member');
          settle({ members: [], isNotMember, failure: isNotMember ? null : failure });
        },
      );
    }, TYPE_AHEAD_MS);
    return () => {
      isCurrent = false;
      clearTimeout(timer);
    };
  }, [api, query]);

  const enrolText = lookup.kind === 'mobile' || lookup.kind === 'digits' ? text.trim() : '';
  useShortcuts({
    F2: () => {
      onEnrol(enrolText);
      return true;
    },
  });

  function onKey(event: KeyboardEvent<HTMLInputElement>): void {
    switch (event.key) {
      case 'ArrowDown':
      case 'ArrowUp': {
        event.preventDefault();
        if (members.length === 0) return;
        const step = event.key === 'ArrowDown' ? 1 : -1;
        const index = Math.min(activeIndex, members.length - 1);
        setActiveIndex((index + step + members.length) % members.length);
        return;
      }
      case 'Enter':
        event.preventDefault();
        if (active) onOpen(active);
        return;
      case 'Escape':
        if (text !== '') {
          event.preventDefault();
          setText('');
        }
        return;
      default:
        return;
    }
  }

  return (
    <section className="panel lookup" aria-labelledby="lookup-title">
      <h1 id="lookup-title">{t('lookup.title')}</h1>
      <label className="field">
        <span className="label">{t('lookup.label')}</span>
        <input
          ref={inputRef}
          className="input input-big"
          value={text}
          onChange={(event) => {
            setText(event.target.value);
          }}
          onKeyDown={onKey}
          autoFocus
          autoComplete="off"
          spellCheck={false}
          inputMode="text"
          placeholder={t('lookup.placeholder')}
          role="combobox"
          aria-controls="lookup-suggestions"
          aria-expanded={members.length > 0}
          aria-activedescendant={active ? `suggestion-${members.indexOf(active)}` : undefined}
          data-testid="lookup-input"
          data-query={query ?? ''}
        />
      </label>
      <p className="hint">{t('lookup.hint')}</p>
      {current?.failure !== null && current?.failure !== undefined && (
        <p className="message message-error" role="alert" data-testid="lookup-error">
          {describeError(current.failure, t, i18n.language)}
        </p>
      )}
      {current?.isNotMember === true && (
        <div className="not-member" role="status" data-testid="lookup-not-member">
          <p className="not-member-text">{t('lookup.notMember', { mobile: text.trim() })}</p>
          <KeyButton
            tone="primary"
            shortcut="F2"
            testId="lookup-enrol"
            onClick={() => {
              onEnrol(enrolText);
            }}
          >
            {t('lookup.enrol')}
          </KeyButton>
        </div>
      )}
      {current !== null &&
        !current.isNotMember &&
        current.failure === null &&
        members.length === 0 && (
          <p className="message" data-testid="lookup-no-match" data-query={current.query}>
            {t('lookup.noMatch')}
          </p>
        )}
      {members.length > 0 && (
        <ul
          className="choice-list suggestions"
          id="lookup-suggestions"
          role="listbox"
          data-testid="lookup-suggestions"
          data-query={current?.query ?? ''}
        >
          {members.map((member, index) => (
            <li
              key={member.mobile}
              id={`suggestion-${index}`}
              role="option"
              aria-selected={member === active}
              className={member === active ? 'choice choice-active' : 'choice'}
              data-testid={`lookup-suggestion-${index}`}
              data-mobile={member.mobile}
              onClick={() => {
                onOpen(member);
              }}
            >
              <span className="choice-name">{member.name}</span>
              <span className="choice-detail mono">{member.maskedMobile}</span>
              <span className="choice-detail">
                {t('member.points', {
                  count: member.balance,
                  points: formatPoints(member.balance),
                })}
              </span>
              <span className="choice-detail">
                {member.pendingPoints > 0 &&
                  t('member.pendingShort', { points: formatPoints(member.pendingPoints) })}
              </span>
              <span className="choice-detail">{member.tier}</span>
              <span className="choice-detail">
                {member.lastVisitAt === null
                  ? t('member.noVisit')
                  : t('member.lastVisitShort', { date: formatDate(member.lastVisitAt) })}
              </span>
            </li>
          ))}
        </ul>
      )}
      <p className="hint">
        <Kbd>↑</Kbd> <Kbd>↓</Kbd> <Kbd>Enter</Kbd> {t('lookup.keys')} · <Kbd>F2</Kbd>{' '}
        {t('lookup.enrol')} · <Kbd>Esc</Kbd> {t('lookup.clear')}
      </p>
    </section>
  );
}
