import { useState } from 'react';
import { Alert, Button, Checkbox, Form, Input, Popconfirm, Select, Space, Table, Tooltip, Typography, type FormInstance } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type RoleDefinition, type RolesResponse } from '../api';
import { FormModal } from '../components/FormModal';
import { keys } from '../realtime/keys';
import { useToast } from '../components/Toast';
import { isAdmin, useMe } from '../console/useMe';
import { roleLabel } from './rules';

/** A new role: its name, and the role whose permissions it starts with. */
type NewRole = { name: string; from?: string };

/** "conversations:read" → the i18n key of its label. */
const permKey = (p: string) => `roles.perm_${p.replace(':', '_')}` as const;

/**
 * The workspace's Casbin policies as a table: a row per permission, a
 * column per role. A tick saves that role at once; the owner's column is
 * fixed (it holds everything, so nobody locks the workspace out).
 */
export default function RolesPage() {
  const { t } = useTranslation();
  const me = useMe();
  const canEdit = isAdmin(me.data?.user.role);
  const qc = useQueryClient();
  const message = useToast();
  const roles = useQuery({ queryKey: keys.roles, queryFn: api.roles.list });
  const [busy, setBusy] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);

  async function toggle(role: RoleDefinition, perm: string, on: boolean) {
    const next = on ? [...role.permissions, perm] : role.permissions.filter((p) => p !== perm);
    setBusy(`${role.name}/${perm}`);
    try {
      const saved = await api.roles.update(role.name, next);
      qc.setQueryData<RolesResponse>(
        keys.roles,
        (cur) =>
          cur && {
            ...cur,
            roles: cur.roles.map((r) => (r.name === saved.name ? saved : r)),
          },
      );
      void qc.invalidateQueries({ queryKey: ['me'] });
      message.success(t('roles.saved', { role: roleLabel(t, role.name) }));
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    } finally {
      setBusy(null);
    }
  }
  async function remove(role: RoleDefinition) {
    try {
      await api.roles.remove(role.name);
      void qc.invalidateQueries({ queryKey: keys.roles });
      message.success(t('roles.deleted'));
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    }
  }

  const list = roles.data?.roles ?? [];
  return (
    <div className="admin-page" data-testid="roles-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('roles.title')}
        </Typography.Title>
        {canEdit ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="add-role">
            {t('roles.add')}
          </Button>
        ) : null}
      </div>
      <Typography.Paragraph type="secondary">{t('roles.intro')}</Typography.Paragraph>
      {roles.isError ? <Alert type="error" showIcon title={errorMessage(roles.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<string>
        rowKey={(p) => p}
        loading={roles.isPending}
        dataSource={roles.data?.permissions ?? []}
        pagination={false}
        size="small"
        scroll={{ x: 200 + list.length * 110 }}
        columns={[
          {
            title: t('roles.permission'),
            key: 'perm',
            fixed: 'left',
            width: 200,
            render: (_: unknown, p: string) => t(permKey(p) as never),
          },
          ...list.map((role) => ({
            key: role.name,
            align: 'center' as const,
            width: 110,
            title: (
              <Space size={2} direction="vertical" align="center">
                <span data-testid={`role-col-${role.name}`}>{roleLabel(t, role.name)}</span>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {t('roles.users', { count: role.users })}
                </Typography.Text>
                {canEdit && !role.built_in ? (
                  <Popconfirm title={t('roles.deleteConfirm')} okText={t('roles.delete')} cancelText={t('app.cancel')} onConfirm={() => remove(role)}>
                    <Button size="small" type="text" danger icon={<DeleteOutlined />} aria-label={t('roles.delete')} data-testid={`role-delete-${role.name}`} />
                  </Popconfirm>
                ) : null}
              </Space>
            ),
            render: (_: unknown, p: string) => {
              const box = (
                <Checkbox
                  checked={role.permissions.includes(p)}
                  disabled={!canEdit || !role.editable || busy !== null}
                  aria-label={`${roleLabel(t, role.name)} ${t(permKey(p) as never)}`}
                  data-testid={`perm-${role.name}-${p}`}
                  onChange={(e) => void toggle(role, p, e.target.checked)}
                />
              );
              return role.editable ? box : <Tooltip title={t('roles.ownerFixed')}>{box}</Tooltip>;
            },
          })),
        ]}
      />
      <CreateRoleModal open={creating} onClose={() => setCreating(false)} roles={list} />
    </div>
  );
}

function CreateRoleModal({ open, onClose, roles }: { open: boolean; onClose: () => void; roles: RoleDefinition[] }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const message = useToast();

  async function submit(v: NewRole, form: FormInstance<NewRole>) {
    const from = roles.find((r) => r.name === v.from);
    await api.roles.create(v.name.trim(), from?.permissions ?? []);
    void qc.invalidateQueries({ queryKey: keys.roles });
    message.success(t('roles.created'));
    form.resetFields();
    onClose();
  }
  return (
    <FormModal<NewRole, 'name'>
      open={open}
      title={t('roles.add')}
      okText={t('roles.add')}
      okTestId="add-role-submit"
      onClose={onClose}
      onSubmit={submit}
      fields={['name']}
      formProps={{ initialValues: { from: 'agent' } }}
    >
      <Form.Item
        name="name"
        label={t('roles.name')}
        extra={t('roles.nameHint')}
        rules={[
          {
            required: true,
            pattern: /^[a-z][a-z0-9_-]{1,29}$/,
            message: t('roles.nameHint'),
          },
        ]}
      >
        <Input autoComplete="off" data-testid="role-name" />
      </Form.Item>
      <Form.Item name="from" label={t('roles.copyFrom')}>
        <Select options={roles.filter((r) => r.editable).map((r) => ({ value: r.name, label: roleLabel(t, r.name) }))} />
      </Form.Item>
    </FormModal>
  );
}
