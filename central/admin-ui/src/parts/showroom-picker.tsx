import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { ShowroomView } from '../../../../shared/protocol/admin.ts';
import { useFetch } from '../hooks.ts';

/**
 * Several showrooms, or none for the whole chain: a disclosure with one checkbox per showroom
 * (keyboard: Tab to it, Space to open and to tick).
 */
export function ShowroomPicker(props: {
  value: readonly string[];
  onChange: (codes: string[]) => void;
  testid: string;
}) {
  const { t } = useTranslation();
  const list = useFetch<{ showrooms: ShowroomView[] }>('/api/showrooms');
  const showrooms = list.data?.showrooms ?? [];
  const details = useRef<HTMLDetailsElement>(null);
  // Like a menu: a click elsewhere or Escape closes the list.
  useEffect(() => {
    const close = (event: Event) => {
      const element = details.current;
      if (!element?.open) return;
      if (event instanceof KeyboardEvent) {
        if (event.key !== 'Escape') return;
        element.open = false;
        element.querySelector('summary')?.focus();
        return;
      }
      if (!element.contains(event.target as Node)) element.open = false;
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, []);
  const summary =
    props.value.length === 0
      ? t('reports.allShowrooms')
      : props.value.length <= 3
        ? props.value.join(', ')
        : t('reports.nShowrooms', { count: props.value.length });
  return (
    <details className="picker" data-testid={props.testid} ref={details}>
      <summary data-testid={`${props.testid}-summary`} data-value={props.value.join(',')}>
        <span className="field-label">{t('reports.showrooms')}</span> {summary}
      </summary>
      <div className="picker-list">
        <label>
          <input
            type="checkbox"
            checked={props.value.length === 0}
            onChange={() => {
              props.onChange([]);
            }}
            data-testid={`${props.testid}-all`}
          />{' '}
          {t('reports.allShowrooms')}
        </label>
        {showrooms.map((s) => (
          <label key={s.code}>
            <input
              type="checkbox"
              checked={props.value.includes(s.code)}
              onChange={(e) => {
                props.onChange(
                  e.target.checked
                    ? [...props.value, s.code].sort()
                    : props.value.filter((c) => c !== s.code),
                );
              }}
              data-testid={`${props.testid}-${s.code}`}
            />{' '}
            {s.code} — {s.name}
          </label>
        ))}
        {list.problem && <span className="field-error">{list.problem.detail}</span>}
      </div>
    </details>
  );
}
