import type { ReactNode } from 'react';
import { Button, Popconfirm } from 'antd';
import { useTranslation } from 'react-i18next';

/**
 * A small button that asks first: a popover with `question`, OK (reading
 * like the button) and Cancel. `danger` makes the button red, and OK too
 * unless `okDanger` says otherwise. The button's data-testid is `testId`, the
 * OK's `confirmTestId`.
 */
export function ConfirmButton({
  question,
  onConfirm,
  danger = false,
  okDanger = danger,
  testId,
  confirmTestId,
  children,
}: {
  question: ReactNode;
  onConfirm: () => void | Promise<unknown>;
  danger?: boolean;
  okDanger?: boolean;
  testId?: string;
  confirmTestId?: string;
  children: string;
}) {
  const { t } = useTranslation();
  return (
    <Popconfirm
      title={question}
      okText={children}
      cancelText={t('app.cancel')}
      okButtonProps={{ ...(okDanger ? { danger: true } : {}), ...(confirmTestId ? { 'data-testid': confirmTestId } : {}) } as { danger?: boolean }}
      onConfirm={onConfirm}
    >
      <Button size="small" danger={danger} data-testid={testId}>
        {children}
      </Button>
    </Popconfirm>
  );
}
