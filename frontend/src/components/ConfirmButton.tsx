import type { ReactNode } from 'react';
import { Button, Popconfirm } from 'antd';
import { useTranslation } from 'react-i18next';

/**
 * A small button that asks first: a popover with `question`, OK (reading
 * like the button, red when `danger`) and Cancel. The button's data-testid is
 * `testId`, the OK's `confirmTestId`.
 */
export function ConfirmButton({
  question,
  onConfirm,
  danger = false,
  testId,
  confirmTestId,
  children,
}: {
  question: ReactNode;
  onConfirm: () => void | Promise<unknown>;
  danger?: boolean;
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
      okButtonProps={{ ...(danger ? { danger: true } : {}), ...(confirmTestId ? { 'data-testid': confirmTestId } : {}) } as { danger?: boolean }}
      onConfirm={onConfirm}
    >
      <Button size="small" danger={danger} data-testid={testId}>
        {children}
      </Button>
    </Popconfirm>
  );
}
