import { useRef, useState } from 'react';
import { Alert, Button, Card, Form, Input, Modal, Popconfirm, Progress, Select, Space, Table, Tag, Typography } from 'antd';
import { DownloadOutlined, PlusOutlined, SearchOutlined, UploadOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, api, errorMessage, type Faq, type FaqInput, type FaqMatchResult } from '../api';
import { applyFormError } from '../lib/forms';
import { keys } from '../realtime/keys';
import { useToast } from '../components/Toast';

const PAGE = 50;

/** /app/admin/faq: the FAQ the bot answers from, with search, import/export and a "try a question" box. */
export default function FaqPage() {
  const { t } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: keys.faqs(q, page),
    queryFn: () => api.faqs.list({ q, limit: PAGE, offset: (page - 1) * PAGE }),
    placeholderData: keepPreviousData,
  });
  const [editing, setEditing] = useState<Faq | 'new' | null>(null);
  const [importing, setImporting] = useState(false);
  const refresh = () => qc.invalidateQueries({ queryKey: keys.faqLists });

  async function remove(id: string) {
    try {
      await api.faqs.remove(id);
      await refresh();
      toast.success(t('faq.deleted'));
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  async function download(format: 'csv' | 'json') {
    try {
      const text = await api.faqs.export(format);
      const url = URL.createObjectURL(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `faq.${format}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  return (
    <div className="admin-page" data-testid="faq-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('faq.title')}
        </Typography.Title>
        <Space wrap>
          <Button icon={<UploadOutlined />} onClick={() => setImporting(true)} data-testid="faq-import">
            {t('faq.import')}
          </Button>
          <Select
            placeholder={
              <>
                <DownloadOutlined /> {t('faq.export')}
              </>
            }
            value={null}
            style={{ width: 140 }}
            options={[
              { value: 'csv', label: 'CSV' },
              { value: 'json', label: 'JSON' },
            ]}
            onChange={(v: 'csv' | 'json') => void download(v)}
            aria-label={t('faq.export')}
          />
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="faq-add">
            {t('faq.add')}
          </Button>
        </Space>
      </div>
      <Typography.Paragraph type="secondary">{t('faq.intro')}</Typography.Paragraph>
      <TryQuestion />
      <Input
        allowClear
        prefix={<SearchOutlined />}
        placeholder={t('faq.search')}
        style={{ maxWidth: 360, margin: '16px 0 12px' }}
        onChange={(e) => {
          setQ(e.target.value);
          setPage(1);
        }}
        aria-label={t('faq.search')}
        data-testid="faq-search"
      />
      {list.isError ? <Alert type="error" showIcon title={errorMessage(list.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<Faq>
        rowKey="id"
        loading={list.isFetching && !list.data}
        dataSource={list.data?.faqs ?? []}
        scroll={{ x: 720 }}
        locale={{ emptyText: t('faq.empty') }}
        pagination={{ current: page, pageSize: PAGE, total: list.data?.total ?? 0, showSizeChanger: false, onChange: setPage }}
        columns={[
          {
            title: t('faq.question'),
            dataIndex: 'question',
            render: (v: string, f: Faq) => (
              <>
                <div data-testid="faq-question">{v}</div>
                {f.alternates.length ? <Typography.Text type="secondary">{t('faq.alternatesN', { count: f.alternates.length })}</Typography.Text> : null}
              </>
            ),
          },
          {
            title: t('faq.answer'),
            dataIndex: 'answer',
            render: (v: string) => (
              <Typography.Paragraph ellipsis={{ rows: 2 }} style={{ margin: 0 }}>
                {v}
              </Typography.Paragraph>
            ),
          },
          { title: t('faq.keywords'), dataIndex: 'keywords', width: 180, render: (ks: string[]) => ks.map((k) => <Tag key={k}>{k}</Tag>) },
          {
            key: 'actions',
            align: 'right',
            width: 150,
            render: (_: unknown, f: Faq) => (
              <Space>
                <Button size="small" onClick={() => setEditing(f)}>
                  {t('faq.edit')}
                </Button>
                <Popconfirm title={t('faq.deleteConfirm')} okText={t('faq.delete')} cancelText={t('app.cancel')} okButtonProps={{ danger: true }} onConfirm={() => remove(f.id)}>
                  <Button size="small" danger>
                    {t('faq.delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <FaqModal
        entry={editing}
        onClose={() => setEditing(null)}
        onSaved={() => {
          setEditing(null);
          void refresh();
          toast.success(t('faq.saved'));
        }}
      />
      <ImportModal
        open={importing}
        onClose={() => setImporting(false)}
        onDone={(n) => {
          setImporting(false);
          void refresh();
          toast.success(t('faq.imported', { count: n }));
        }}
      />
    </div>
  );
}

/** "Try a question": what the bot would answer, with the scores. */
function TryQuestion() {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [res, setRes] = useState<FaqMatchResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function run() {
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      setRes(await api.faqs.match(text.trim(), 3));
    } catch (err) {
      setError(errorMessage(err, t('app.error')));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card size="small" title={t('faq.try')} data-testid="faq-try">
      <Space.Compact style={{ width: '100%' }}>
        <Input
          value={text}
          onChange={(e) => setText(e.target.value)}
          onPressEnter={run}
          placeholder={t('faq.tryPlaceholder')}
          aria-label={t('faq.try')}
          data-testid="faq-try-input"
          maxLength={4000}
        />
        <Button type="primary" loading={busy} onClick={run} data-testid="faq-try-run">
          {t('faq.tryRun')}
        </Button>
      </Space.Compact>
      {error ? <Alert type="error" showIcon title={error} style={{ marginTop: 12 }} /> : null}
      {res ? (
        <div style={{ marginTop: 12 }} data-testid="faq-try-result">
          {res.answer ? (
            <Alert type="success" showIcon title={t('faq.wouldAnswer', { score: res.answer.score.toFixed(2) })} description={res.answer.faq.answer} data-testid="faq-try-answer" />
          ) : (
            <Alert type="info" showIcon title={t('faq.noAnswer', { threshold: res.threshold.toFixed(2) })} data-testid="faq-try-none" />
          )}
          {res.matches.length ? (
            <ul className="faq-matches">
              {res.matches.map((m) => (
                <li key={m.faq.id}>
                  <Progress
                    percent={Math.round(m.score * 100)}
                    size="small"
                    style={{ width: 120, margin: 0 }}
                    status={m.score >= res.threshold ? 'success' : 'normal'}
                    format={() => m.score.toFixed(2)}
                  />
                  <span>{m.faq.question}</span>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </Card>
  );
}

interface FaqValues {
  question: string;
  answer: string;
  alternates: string;
  keywords: string[];
}

function FaqModal({ entry, onClose, onSaved }: { entry: Faq | 'new' | null; onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<FaqValues>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const editing = entry && entry !== 'new' ? entry : null;

  async function submit(v: FaqValues) {
    setBusy(true);
    setError(null);
    const body: FaqInput = {
      question: v.question,
      answer: v.answer,
      alternates: (v.alternates ?? '')
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean),
      keywords: v.keywords ?? [],
    };
    try {
      if (editing) await api.faqs.update(editing.id, body);
      else await api.faqs.create(body);
      form.resetFields();
      onSaved();
    } catch (err) {
      setError(applyFormError(form, err, ['question', 'answer', 'alternates', 'keywords'], t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={!!entry}
      title={editing ? t('faq.edit') : t('faq.add')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('faq.save')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      destroyOnHidden
      width={640}
      okButtonProps={{ 'data-testid': 'faq-save' } as Record<string, string>}
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Form
        form={form}
        layout="vertical"
        requiredMark={false}
        onFinish={submit}
        preserve={false}
        initialValues={editing ? { question: editing.question, answer: editing.answer, alternates: editing.alternates.join('\n'), keywords: editing.keywords } : { keywords: [] }}
      >
        <Form.Item name="question" label={t('faq.question')} extra={t('faq.questionHint')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input maxLength={500} data-testid="faq-question-input" />
        </Form.Item>
        <Form.Item name="answer" label={t('faq.answer')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input.TextArea autoSize={{ minRows: 3, maxRows: 10 }} maxLength={5000} data-testid="faq-answer-input" />
        </Form.Item>
        <Form.Item name="alternates" label={t('faq.alternates')} extra={t('faq.alternatesHint')}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 8 }} data-testid="faq-alternates-input" />
        </Form.Item>
        <Form.Item name="keywords" label={t('faq.keywords')} extra={t('faq.keywordsHint')}>
          <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',', '，']} aria-label={t('faq.keywords')} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

function ImportModal({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: (n: number) => void }) {
  const { t } = useTranslation();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState<'append' | 'replace'>('append');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; rows: [string, string][] } | null>(null);

  async function run() {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const format = /\.json$/i.test(file.name) || file.type === 'application/json' ? 'json' : 'csv';
      const res = await api.faqs.import(file, format, mode);
      setFile(null);
      onDone(res.imported);
    } catch (err) {
      const rows = err instanceof ApiError ? Object.entries(err.fields ?? {}) : [];
      rows.sort((a, b) => (parseInt(a[0].replace(/\D/g, ''), 10) || 0) - (parseInt(b[0].replace(/\D/g, ''), 10) || 0));
      setError({ message: errorMessage(err, t('app.error')), rows });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={t('faq.import')}
      onCancel={onClose}
      onOk={run}
      okText={t('faq.importRun')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      okButtonProps={{ disabled: !file, 'data-testid': 'faq-import-run' } as { disabled: boolean }}
      destroyOnHidden
    >
      <Typography.Paragraph type="secondary">{t('faq.importHint')}</Typography.Paragraph>
      <pre className="snippet">
        question,answer,alternates,keywords{'\n'}退货政策是什么? / What is the return policy?,收货 7 天内可退货。,怎么退货|How do I return an item?,退货|return
      </pre>
      <Space direction="vertical" style={{ width: '100%' }}>
        <input
          ref={input}
          type="file"
          accept=".csv,.json,text/csv,application/json"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          aria-label={t('faq.importFile')}
          data-testid="faq-import-file"
        />
        <Select
          value={mode}
          onChange={setMode}
          style={{ width: 260 }}
          options={[
            { value: 'append', label: t('faq.importAppend') },
            { value: 'replace', label: t('faq.importReplace') },
          ]}
          aria-label={t('faq.importMode')}
        />
      </Space>
      {error ? (
        <Alert
          type="error"
          showIcon
          style={{ marginTop: 12 }}
          title={error.message}
          description={
            error.rows.length ? (
              <ul className="import-errors">
                {error.rows.map(([k, v]) => (
                  <li key={k}>
                    <b>{k}</b>: {v}
                  </li>
                ))}
              </ul>
            ) : undefined
          }
          data-testid="faq-import-error"
        />
      ) : null}
    </Modal>
  );
}
