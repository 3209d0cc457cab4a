// The replay report: how the latest saved version would have routed the
// tenant's recent conversations, compared with the flow that routes now.
import { Alert, Modal, Statistic, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import type { ReplayExample, ReplayReport } from '../api';

export function ReplayModal({
  report,
  error,
  loading,
  open,
  onClose,
  dirty,
}: {
  report: ReplayReport | null;
  error: string | null;
  loading: boolean;
  open: boolean;
  onClose: () => void;
  dirty: boolean;
}) {
  const { t } = useTranslation();
  return (
    <Modal open={open} onCancel={onClose} footer={null} title={t('flows.replay.title')} width={760} destroyOnHidden>
      <div data-testid="replay-report">
        <Typography.Paragraph type="secondary">{t('flows.replay.intro')}</Typography.Paragraph>
        {dirty ? <Alert type="info" showIcon title={t('flows.replay.unsaved')} style={{ marginBottom: 12 }} /> : null}
        {error ? <Alert type="error" showIcon title={error} /> : null}
        {loading ? <Typography.Paragraph>{t('app.loading')}</Typography.Paragraph> : null}
        {report ? (
          <>
            <div className="flow-replay-stats">
              <Statistic title={t('flows.replay.total')} value={report.total} />
              <Statistic title={t('flows.replay.different')} value={report.different} styles={{ content: { color: report.different ? '#d46b08' : '#389e0d' } }} />
            </div>
            <Typography.Paragraph data-testid="replay-summary">
              {report.total === 0
                ? t('flows.replay.none')
                : report.different === 0
                  ? t('flows.replay.same', { total: report.total })
                  : t('flows.replay.summary', { total: report.total, different: report.different })}
            </Typography.Paragraph>
            {report.examples.length ? (
              <Table<ReplayExample>
                size="small"
                rowKey="conversation_id"
                pagination={false}
                dataSource={report.examples}
                scroll={{ x: 600 }}
                columns={[
                  {
                    title: t('flows.replay.message'),
                    dataIndex: 'message',
                    render: (m: string, r) => <Link to={`/app/conversations/${encodeURIComponent(r.conversation_id)}`}>{m || t('flows.replay.noMessage')}</Link>,
                  },
                  { title: t('flows.replay.before'), dataIndex: 'before', render: (s: string) => <span className="flow-mono">{s}</span> },
                  { title: t('flows.replay.after'), dataIndex: 'after', render: (s: string) => <span className="flow-mono">{s}</span> },
                ]}
              />
            ) : null}
          </>
        ) : null}
      </div>
    </Modal>
  );
}
