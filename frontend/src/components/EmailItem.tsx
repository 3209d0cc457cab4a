import type { ReactNode } from 'react';
import { Form, Input } from 'antd';
import { useTranslation } from 'react-i18next';

/**
 * A person's e-mail field, as the forms that add or invite someone ask it:
 * required and shaped like an address (the server checks it again).
 */
export function EmailItem({ name, label, testId }: { name: string; label: ReactNode; testId: string }) {
  const { t } = useTranslation();
  return (
    <Form.Item
      name={name}
      label={label}
      rules={[
        { required: true, message: t('auth.required') },
        { type: 'email', message: t('auth.invalidEmail') },
      ]}
    >
      <Input autoComplete="off" data-testid={testId} />
    </Form.Item>
  );
}
