import { useTranslation } from 'react-i18next';
import { PRESETS, presetOf, presetRange, type DateRange } from '../dates.ts';

/** From/to dates and the presets (today … this year); `today` is in the chain's zone. */
export function DateRangePicker(props: {
  value: DateRange;
  today: string;
  onChange: (range: DateRange) => void;
  testid: string;
  problem?: string | undefined;
}) {
  const { t } = useTranslation();
  const active = presetOf(props.value, props.today);
  return (
    <fieldset className="date-range" data-testid={props.testid}>
      <legend>{t('range.legend')}</legend>
      <div className="presets" role="group" aria-label={t('range.presets')}>
        {PRESETS.map((preset) => (
          <button
            key={preset}
            type="button"
            className={active === preset ? 'chip active' : 'chip'}
            aria-pressed={active === preset}
            data-testid={`${props.testid}-preset-${preset}`}
            onClick={() => {
              props.onChange(presetRange(preset, props.today));
            }}
          >
            {t(`range.${preset}`)}
          </button>
        ))}
      </div>
      <div className="range-inputs">
        <label>
          <span className="field-label">{t('range.from')}</span>
          <input
            type="date"
            value={props.value.from}
            max={props.today}
            onChange={(e) => {
              props.onChange({ ...props.value, from: e.target.value });
            }}
            data-testid={`${props.testid}-from`}
          />
        </label>
        <label>
          <span className="field-label">{t('range.to')}</span>
          <input
            type="date"
            value={props.value.to}
            onChange={(e) => {
              props.onChange({ ...props.value, to: e.target.value });
            }}
            data-testid={`${props.testid}-to`}
          />
        </label>
      </div>
      {props.problem !== undefined && (
        <span className="field-error" role="alert" data-testid={`${props.testid}-error`}>
          {props.problem}
        </span>
      )}
    </fieldset>
  );
}
