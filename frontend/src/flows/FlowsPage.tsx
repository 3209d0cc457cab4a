// /app/admin/flows — the tenant's routing flows.
import type { HTMLAttributes } from 'react';
import { Alert, Badge, Button, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { Link, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage, type Flow } from '../api';
import { isAdmin, useMe } from '../console/useMe';
import { dateTime } from '../lib/format';
import { flowKeys } from './keys';

export default function FlowsPage() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const me = useMe();
  const flows = useQuery({ queryKey: flowKeys.list, queryFn: api.flows.list, staleTime: 10_000 });
  const canEdit = isAdmin(me.data?.user.role);
  const open = (f: Flow) => navigate(`/app/admin/flows/${encodeURIComponent(f.id)}`);

  return (
    <div className="admin-page" data-testid="flows-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('flows.title')}
        </Typography.Title>
        {canEdit ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate('/app/admin/flows/new')} data-testid="new-flow">
            {t('flows.new')}
          </Button>
        ) : null}
      </div>
      <Typography.Paragraph type="secondary">{t('flows.intro')}</Typography.Paragraph>
      {flows.isError ? <Alert type="error" showIcon title={errorMessage(flows.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<Flow>
        rowKey="id"
        loading={flows.isPending}
        dataSource={flows.data ?? []}
        pagination={false}
        scroll={{ x: 720 }}
        locale={{ emptyText: t('flows.empty') }}
        onRow={(f) => ({ onClick: () => open(f), style: { cursor: 'pointer' }, 'data-testid': 'flow-row', 'data-id': f.id }) as HTMLAttributes<HTMLElement>}
        columns={[
          {
            title: t('flows.name'),
            dataIndex: 'name',
            render: (name: string, f) => (
              <Link to={`/app/admin/flows/${encodeURIComponent(f.id)}`} onClick={(e) => e.stopPropagation()} data-testid="flow-link">
                {name}
              </Link>
            ),
          },
          {
            title: t('flows.statusTitle'),
            dataIndex: 'status',
            render: (s: Flow['status']) => <Tag color={s === 'published' ? 'green' : 'default'}>{t(`flows.status.${s}`)}</Tag>,
          },
          {
            title: t('flows.activeTitle'),
            dataIndex: 'active',
            render: (a: boolean) => (a ? <Badge status="processing" text={t('flows.active')} /> : <span className="muted">—</span>),
          },
          {
            title: t('flows.publishedVersion'),
            dataIndex: 'published_version',
            render: (v: number | null) => (v ? t('flows.versionN', { version: v }) : <span className="muted">—</span>),
          },
          { title: t('flows.latestVersion'), dataIndex: 'latest_version', render: (v: number) => t('flows.versionN', { version: v }) },
          { title: t('flows.updated'), dataIndex: 'updated_at', render: (s: string) => dateTime(s, i18n.language) },
        ]}
      />
    </div>
  );
}
