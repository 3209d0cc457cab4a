// The versions drawer: every saved version, newest first; view one
// read-only, or roll back (publish an earlier version again).
import { useMemo } from 'react';
import { Alert, Button, Drawer, List, Popconfirm, Space, Tag, Typography } from 'antd';
import { EyeOutlined, RollbackOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage, type FlowVersion } from '../api';
import { keys } from '../realtime/keys';
import { dateTime } from '../lib/format';
import { flowKeys } from './keys';

interface Props {
  flowId: string;
  open: boolean;
  onClose: () => void;
  /** The version shown on the canvas now. */
  current: number | undefined;
  latest: number | undefined;
  onView: (version: number) => void;
  onRollback: (version: number) => Promise<void>;
}

export function VersionsDrawer({ flowId, open, onClose, current, latest, onView, onRollback }: Props) {
  const { t, i18n } = useTranslation();
  const versions = useQuery({ queryKey: flowKeys.versions(flowId), queryFn: () => api.flows.versions(flowId), enabled: open, staleTime: 0 });
  const agents = useQuery({ queryKey: keys.agents, queryFn: api.agents.list, staleTime: 30_000, enabled: open });
  const names = useMemo(() => new Map((agents.data ?? []).map((a) => [a.id, a.name])), [agents.data]);
  const who = (id: string) => (id === 'kefu' ? t('flows.versions.system') : (names.get(id) ?? id));

  return (
    <Drawer open={open} onClose={onClose} title={t('flows.versions.title')} size={380} destroyOnHidden data-testid="versions-drawer">
      {versions.isError ? <Alert type="error" showIcon title={errorMessage(versions.error, t('app.error'))} /> : null}
      <List<FlowVersion>
        loading={versions.isPending}
        dataSource={versions.data ?? []}
        locale={{ emptyText: t('flows.versions.empty') }}
        renderItem={(v) => (
          <List.Item
            data-testid="version-item"
            data-version={v.version}
            actions={[
              <Button key="view" size="small" icon={<EyeOutlined />} disabled={v.version === current} onClick={() => onView(v.version)} data-testid="version-view">
                {t('flows.versions.view')}
              </Button>,
              <Popconfirm
                key="rollback"
                title={v.version === latest ? t('flows.versions.publishConfirm', { version: v.version }) : t('flows.versions.rollbackConfirm', { version: v.version })}
                okText={v.version === latest ? t('flows.publish') : t('flows.versions.rollback')}
                cancelText={t('app.cancel')}
                onConfirm={() => onRollback(v.version)}
                okButtonProps={{ 'data-testid': 'rollback-confirm' } as Record<string, string>}
              >
                <Button size="small" icon={<RollbackOutlined />} disabled={v.published} data-testid="version-rollback">
                  {v.version === latest ? t('flows.publish') : t('flows.versions.rollback')}
                </Button>
              </Popconfirm>,
            ]}
          >
            <List.Item.Meta
              title={
                <Space size={6}>
                  <span>{t('flows.versionN', { version: v.version })}</span>
                  {v.published ? <Tag color="green">{t('flows.versions.live')}</Tag> : null}
                  {v.version === current ? <Tag>{t('flows.versions.showing')}</Tag> : null}
                </Space>
              }
              description={
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {dateTime(v.created_at, i18n.language)} · {who(v.created_by)}
                </Typography.Text>
              }
            />
          </List.Item>
        )}
      />
    </Drawer>
  );
}
