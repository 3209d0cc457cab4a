import { useState } from 'react';
import { Form, Input, Modal, Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type Conversation } from '../api';
import { keys } from '../realtime/keys';
import { useToast } from '../components/Toast';
import { transferConversation } from './actions';
import { useAgents } from './useThread';

/** Transfer to an agent, a team or an agent of a team, with a note for whoever takes it. */
export default function TransferModal({ c, open, onClose }: { c: Conversation; open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const agents = useAgents(open);
  const teams = useQuery({ queryKey: keys.teams, queryFn: api.teams.list, staleTime: 60_000, enabled: open });
  const [agent, setAgent] = useState<string | undefined>();
  const [team, setTeam] = useState<string | undefined>(c.team ?? undefined);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const members = team ? new Set(teams.data?.find((x) => x.id === team)?.members ?? []) : null;
  const agentOptions = (agents.data ?? [])
    .filter((a) => a.id !== c.assignee_id && (!members || members.has(a.id)))
    .map((a) => ({ value: a.id, label: `${a.name}${a.status === 'online' ? ` · ${t('console.online')}` : ''}` }));

  async function submit() {
    if (!agent && !team) {
      setError(t('console.transferPick'));
      return;
    }
    setBusy(true);
    try {
      await transferConversation(c.id, { agent_id: agent, team_id: team, note: note.trim() || undefined }, qc);
      toast.success(t('console.transferOk'));
      setAgent(undefined);
      setNote('');
      onClose();
    } catch (err) {
      setError(errorMessage(err, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={t('console.transferTitle')}
      onCancel={onClose}
      onOk={() => void submit()}
      okText={t('console.transfer')}
      cancelText={t('teamsPage.cancel')}
      confirmLoading={busy}
      okButtonProps={{ 'data-testid': 'transfer-submit' } as never}
      destroyOnHidden
    >
      <Form layout="vertical" data-testid="transfer-form">
        <Form.Item label={t('console.transferTeam')} htmlFor="transfer-team">
          <Select
            id="transfer-team"
            allowClear
            value={team}
            onChange={(v?: string) => {
              setTeam(v);
              setError('');
            }}
            options={(teams.data ?? []).map((x) => ({ value: x.id, label: x.name }))}
            placeholder={t('console.allTeams')}
            data-testid="transfer-team"
          />
        </Form.Item>
        <Form.Item label={t('console.transferAgent')} htmlFor="transfer-agent">
          <Select
            id="transfer-agent"
            allowClear
            showSearch
            optionFilterProp="label"
            value={agent}
            onChange={(v?: string) => {
              setAgent(v);
              setError('');
            }}
            options={agentOptions}
            placeholder={team ? t('console.anyone') : t('console.transferAgent')}
            data-testid="transfer-agent"
          />
        </Form.Item>
        <Form.Item label={t('console.transferNote')} htmlFor="transfer-note" validateStatus={error ? 'error' : undefined} help={error || undefined}>
          <Input.TextArea
            id="transfer-note"
            value={note}
            onChange={(e) => setNote(e.target.value)}
            maxLength={4000}
            autoSize={{ minRows: 2, maxRows: 6 }}
            placeholder={t('console.transferNotePlaceholder')}
            data-testid="transfer-note"
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}
