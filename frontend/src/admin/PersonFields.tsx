import { Form, InputNumber, Select, Space } from 'antd';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { roleLabel } from './rules';

/**
 * The role, the cap on concurrent conversations (1–1000, as the API allows)
 * and the skills: the fields that adding, inviting and editing a person
 * share. `roles` are the ones offered; `roleLocked` shows the role but keeps
 * it (with `roleExtra` saying why).
 */
export function PersonFields({ roles, roleLocked = false, roleExtra, roleTestId }: { roles: readonly string[]; roleLocked?: boolean; roleExtra?: ReactNode; roleTestId?: string }) {
  const { t } = useTranslation();
  return (
    <>
      <Space.Compact block>
        <Form.Item name="role" label={t('agents.role')} style={{ flex: 1, marginRight: 12 }} extra={roleExtra}>
          <Select disabled={roleLocked} data-testid={roleTestId} options={roles.map((r) => ({ value: r, label: roleLabel(t, r) }))} />
        </Form.Item>
        <Form.Item name="max_concurrent" label={t('agents.maxConcurrent')} style={{ flex: 1 }}>
          <InputNumber min={1} max={1000} style={{ width: '100%' }} />
        </Form.Item>
      </Space.Compact>
      <Form.Item name="skills" label={t('agents.skills')}>
        <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',']} placeholder={t('agents.skillsPlaceholder')} />
      </Form.Item>
    </>
  );
}
