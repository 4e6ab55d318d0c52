import { useEffect, useRef, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiProblem } from '../problem.ts';
import { FormProblem } from './forms.tsx';

/**
 * The confirm step before something that cannot be taken back (revoke, deactivate, merge): a
 * modal dialog, Escape or Cancel backs out, focus starts on Cancel.
 */
export function ConfirmDialog(props: {
  isOpen: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  isBusy: boolean;
  problem?: ApiProblem | undefined;
  onConfirm: () => void;
  onCancel: () => void;
  testid?: string;
}) {
  const { t } = useTranslation();
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const { isOpen } = props;
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (isOpen && !element.open) {
      element.showModal();
      cancel.current?.focus();
    } else if (!isOpen && element.open) {
      element.close();
    }
  }, [isOpen]);
  const testid = props.testid ?? 'confirm';
  return (
    <dialog
      ref={dialog}
      className="confirm"
      data-testid={`${testid}-dialog`}
      aria-labelledby={`${testid}-title`}
      onCancel={(event) => {
        event.preventDefault();
        if (!props.isBusy) props.onCancel();
      }}
    >
      {isOpen && (
        <>
          <h2 id={`${testid}-title`}>{props.title}</h2>
          <div className="confirm-body">{props.children}</div>
          <FormProblem problem={props.problem} testid={`${testid}-error`} />
          <div className="actions">
            <button
              type="button"
              ref={cancel}
              disabled={props.isBusy}
              data-testid={`${testid}-cancel`}
              onClick={props.onCancel}
            >
              {t('common.cancel')}
            </button>
            <button
              type="button"
              className="danger"
              disabled={props.isBusy}
              aria-busy={props.isBusy}
              data-testid={`${testid}-ok`}
              onClick={props.onConfirm}
            >
              {props.isBusy ? t('common.saving') : props.confirmLabel}
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}
