import type { ReactNode } from 'react';
import { Form, Input } from 'antd';
import { useTranslation } from 'react-i18next';

/**
 * A new password's field, as every form that sets one asks it: required, at
 * least 8 characters (the server's rule), a hint under it (by default, how
 * long it must be).
 */
export function PasswordItem({ name, label, testId, extra }: { name: string; label: ReactNode; testId: string; extra?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <Form.Item
      name={name}
      label={label}
      extra={extra ?? t('auth.passwordHint')}
      rules={[
        { required: true, message: t('auth.required') },
        { min: 8, message: t('auth.passwordTooShort') },
      ]}
    >
      <Input.Password autoComplete="new-password" data-testid={testId} />
    </Form.Item>
  );
}
