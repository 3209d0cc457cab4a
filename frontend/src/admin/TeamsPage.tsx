import { useState } from 'react';
import { Alert, Button, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type Team } from '../api';
import { useToast } from '../components/Toast';
import { keys } from '../realtime/keys';
import { isAdmin, useMe } from '../console/useMe';

/** /app/admin/teams: teams and their members. */
export default function TeamsPage() {
  const { t } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const me = useMe();
  const canEdit = isAdmin(me.data?.user.role);
  const teams = useQuery({ queryKey: keys.teams, queryFn: api.teams.list, staleTime: 30_000 });
  const agents = useQuery({ queryKey: keys.agents, queryFn: api.agents.list, staleTime: 30_000 });
  const [editing, setEditing] = useState<Team | 'new' | null>(null);
  const nameOf = (id: string) => agents.data?.find((a) => a.id === id)?.name ?? id;

  async function remove(team: Team) {
    try {
      await api.teams.remove(team.id);
      toast.success(t('teamsPage.deleted'));
      void qc.invalidateQueries({ queryKey: keys.teams });
      void qc.invalidateQueries({ queryKey: keys.agents });
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  return (
    <div className="admin-page" data-testid="teams-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('teamsPage.title')}
        </Typography.Title>
        {canEdit ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="add-team">
            {t('teamsPage.add')}
          </Button>
        ) : null}
      </div>
      <Typography.Paragraph type="secondary">{t('teamsPage.intro')}</Typography.Paragraph>
      {!canEdit ? <Alert type="info" showIcon title={t('teamsPage.readOnly')} style={{ marginBottom: 16 }} /> : null}
      {teams.isError ? <Alert type="error" showIcon title={errorMessage(teams.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<Team>
        rowKey="id"
        loading={teams.isPending}
        dataSource={teams.data ?? []}
        pagination={false}
        scroll={{ x: 560 }}
        locale={{ emptyText: t('teamsPage.empty') }}
        columns={[
          { title: t('teamsPage.name'), dataIndex: 'name', render: (n: string) => <strong data-testid="team-name">{n}</strong> },
          {
            title: t('teamsPage.members'),
            dataIndex: 'members',
            render: (m: string[]) => (m.length ? m.map((id) => <Tag key={id}>{nameOf(id)}</Tag>) : <span className="muted">{t('teamsPage.noMembers')}</span>),
          },
          ...(canEdit
            ? [
                {
                  title: '',
                  key: 'actions',
                  width: 160,
                  render: (_: unknown, team: Team) => (
                    <Space>
                      <Button size="small" onClick={() => setEditing(team)} data-testid="edit-team">
                        {t('teamsPage.edit')}
                      </Button>
                      <Popconfirm title={t('teamsPage.deleteConfirm', { name: team.name })} onConfirm={() => void remove(team)}>
                        <Button size="small" danger>
                          {t('teamsPage.delete')}
                        </Button>
                      </Popconfirm>
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      {editing ? <TeamModal team={editing === 'new' ? null : editing} onClose={() => setEditing(null)} /> : null}
    </div>
  );
}

function TeamModal({ team, onClose }: { team: Team | null; onClose: () => void }) {
  const { t } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const agents = useQuery({ queryKey: keys.agents, queryFn: api.agents.list, staleTime: 30_000 });
  const [name, setName] = useState(team?.name ?? '');
  const [members, setMembers] = useState<string[]>(team?.members ?? []);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function save() {
    if (!name.trim()) {
      setError(t('teamsPage.nameRequired'));
      return;
    }
    setBusy(true);
    try {
      if (team) await api.teams.update(team.id, { name: name.trim(), members });
      else await api.teams.create({ name: name.trim(), members });
      toast.success(t('teamsPage.saved'));
      void qc.invalidateQueries({ queryKey: keys.teams });
      void qc.invalidateQueries({ queryKey: keys.agents });
      onClose();
    } catch (err) {
      setError(errorMessage(err, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open
      title={team ? team.name : t('teamsPage.add')}
      onCancel={onClose}
      onOk={() => void save()}
      okText={t('teamsPage.save')}
      cancelText={t('teamsPage.cancel')}
      confirmLoading={busy}
      okButtonProps={{ 'data-testid': 'team-save' } as never}
    >
      <Form layout="vertical">
        <Form.Item label={t('teamsPage.name')} htmlFor="team-name" validateStatus={error ? 'error' : undefined} help={error || undefined}>
          <Input id="team-name" value={name} maxLength={50} onChange={(e) => setName(e.target.value)} data-testid="team-name-input" />
        </Form.Item>
        <Form.Item label={t('teamsPage.members')} htmlFor="team-members">
          <Select
            id="team-members"
            mode="multiple"
            value={members}
            onChange={setMembers}
            optionFilterProp="label"
            options={(agents.data ?? []).map((a) => ({ value: a.id, label: a.name }))}
            data-testid="team-members"
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}
