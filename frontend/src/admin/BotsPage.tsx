import { useEffect, useState } from 'react';
import { Alert, Button, Card, Form, Input, InputNumber, Radio, Select, Slider, Space, Tag, Typography } from 'antd';
import { ApiOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type BotSettings, type LlmInput, type LlmProvider, type LlmTestResult } from '../api';
import { applyFormError } from '../lib/forms';
import { keys } from '../realtime/keys';
import { useToast } from '../components/Toast';

interface LlmValues {
  provider: LlmProvider;
  base_url: string;
  model: string;
  api_key: string;
  system_prompt: string;
  temperature: number | null;
  max_tokens: number | null;
  timeout_ms: number | null;
  embedding_model: string;
}

/** Base URLs people use, shown as hints: any OpenAI-compatible endpoint works. */
const PRESETS: { label: string; provider: LlmProvider; base_url: string; model: string }[] = [
  { label: 'OpenAI', provider: 'openai', base_url: 'https://api.openai.com/v1', model: 'gpt-4o-mini' },
  { label: 'DeepSeek', provider: 'openai', base_url: 'https://api.deepseek.com/v1', model: 'deepseek-chat' },
  { label: 'Qwen', provider: 'openai', base_url: 'https://dashscope.aliyuncs.com/compatible-mode/v1', model: 'qwen-plus' },
  { label: 'Ollama', provider: 'openai', base_url: 'http://127.0.0.1:11434/v1', model: 'qwen2.5:7b' },
  { label: 'Anthropic', provider: 'anthropic', base_url: 'https://api.anthropic.com', model: 'claude-sonnet-4-5' },
];

/** /app/admin/bots: the model the bots answer with, and the FAQ's threshold and handoff phrases. */
export default function BotsPage() {
  const { t } = useTranslation();
  return (
    <div className="admin-page" data-testid="bots-page">
      <Typography.Title level={3}>{t('bots.title')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('bots.intro')}</Typography.Paragraph>
      <ModelCard />
      <div style={{ height: 16 }} />
      <FaqSettingsCard />
    </div>
  );
}

function ModelCard() {
  const { t } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const llm = useQuery({ queryKey: keys.llm, queryFn: api.bots.llm });
  const [form] = Form.useForm<LlmValues>();
  const [busy, setBusy] = useState(false);
  const [testing, setTesting] = useState(false);
  const [test, setTest] = useState<LlmTestResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const d = llm.data;
    if (!d) return;
    form.setFieldsValue({
      provider: d.provider === 'anthropic' ? 'anthropic' : 'openai',
      base_url: d.base_url,
      model: d.model,
      api_key: '',
      system_prompt: d.system_prompt,
      temperature: d.temperature,
      max_tokens: d.max_tokens || null,
      timeout_ms: d.timeout_ms || null,
      embedding_model: d.embedding_model,
    });
  }, [llm.data, form]);

  function input(v: LlmValues): LlmInput {
    const body: LlmInput = {
      provider: v.provider,
      base_url: v.base_url?.trim() ?? '',
      model: v.model?.trim() ?? '',
      system_prompt: v.system_prompt ?? '',
      temperature: v.temperature ?? null,
      max_tokens: v.max_tokens ?? 0,
      timeout_ms: v.timeout_ms ?? 0,
      embedding_model: v.embedding_model?.trim() ?? '',
    };
    // An empty key field keeps the stored key.
    if (v.api_key) body.api_key = v.api_key;
    return body;
  }

  async function save(v: LlmValues) {
    setBusy(true);
    setError(null);
    try {
      const saved = await api.bots.setLlm(input(v));
      qc.setQueryData(keys.llm, saved);
      form.setFieldValue('api_key', '');
      toast.success(t('bots.saved'));
    } catch (err) {
      setError(
        applyFormError(form, err, ['provider', 'base_url', 'model', 'api_key', 'system_prompt', 'temperature', 'max_tokens', 'timeout_ms', 'embedding_model'], t('app.error')),
      );
    } finally {
      setBusy(false);
    }
  }

  async function runTest() {
    setTesting(true);
    setTest(null);
    setError(null);
    try {
      const v = await form.validateFields();
      setTest(await api.bots.test(input(v)));
    } catch (err) {
      if (err && typeof err === 'object' && 'errorFields' in err) return;
      setError(applyFormError(form, err, ['provider', 'base_url', 'model', 'api_key'], t('app.error')));
    } finally {
      setTesting(false);
    }
  }

  async function removeKey() {
    const v = form.getFieldsValue();
    try {
      const saved = await api.bots.setLlm({ ...input(v), api_key: '' });
      qc.setQueryData(keys.llm, saved);
      toast.success(t('bots.keyRemoved'));
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  return (
    <Card title={t('bots.model')} data-testid="bots-model">
      {llm.isError ? <Alert type="error" showIcon title={errorMessage(llm.error, t('app.error'))} style={{ marginBottom: 12 }} /> : null}
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Space wrap style={{ marginBottom: 12 }}>
        <Typography.Text type="secondary">{t('bots.presets')}</Typography.Text>
        {PRESETS.map((p) => (
          <Tag.CheckableTag key={p.label} checked={false} onChange={() => form.setFieldsValue({ provider: p.provider, base_url: p.base_url, model: p.model })}>
            {/* Product names, not translated (Qwen has a Chinese one). */}
            {p.label === 'Qwen' ? t('bots.qwen') : <span translate="no">{p.label}</span>}
          </Tag.CheckableTag>
        ))}
      </Space>
      <Form form={form} layout="vertical" requiredMark={false} onFinish={save} initialValues={{ provider: 'openai' }} style={{ maxWidth: 640 }}>
        <Form.Item name="provider" label={t('bots.provider')}>
          <Radio.Group
            options={[
              { value: 'openai', label: t('bots.providerOpenai') },
              { value: 'anthropic', label: <span translate="no">Anthropic</span> },
            ]}
          />
        </Form.Item>
        <Form.Item name="base_url" label={t('bots.baseUrl')} extra={t('bots.baseUrlHint')}>
          <Input placeholder="https://api.openai.com/v1" className="flow-mono" translate="no" data-testid="bots-base-url" />
        </Form.Item>
        <Form.Item name="model" label={t('bots.modelName')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input placeholder="gpt-4o-mini" className="flow-mono" translate="no" data-testid="bots-model-name" />
        </Form.Item>
        <Form.Item name="api_key" label={t('bots.apiKey')} extra={llm.data?.has_api_key ? t('bots.apiKeyKept') : t('bots.apiKeyHint')}>
          <Input.Password autoComplete="new-password" placeholder={llm.data?.has_api_key ? '••••••••' : ''} data-testid="bots-api-key" />
        </Form.Item>
        {llm.data?.has_api_key ? (
          <Button size="small" danger style={{ marginTop: -12, marginBottom: 16 }} onClick={removeKey}>
            {t('bots.removeKey')}
          </Button>
        ) : null}
        <Form.Item name="system_prompt" label={t('bots.prompt')} extra={t('bots.promptHint')}>
          <Input.TextArea autoSize={{ minRows: 3, maxRows: 12 }} maxLength={8000} />
        </Form.Item>
        <Space wrap size="large">
          <Form.Item name="temperature" label={t('bots.temperature')}>
            <InputNumber min={0} max={2} step={0.1} style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="max_tokens" label={t('bots.maxTokens')}>
            <InputNumber min={0} max={8192} style={{ width: 140 }} />
          </Form.Item>
          <Form.Item name="timeout_ms" label={t('bots.timeout')} extra={t('bots.timeoutHint')}>
            <InputNumber min={1000} max={120000} step={1000} suffix={t('bots.ms')} style={{ width: 160 }} />
          </Form.Item>
        </Space>
        <Form.Item name="embedding_model" label={t('bots.embeddingModel')} extra={t('bots.embeddingHint')}>
          <Input placeholder="text-embedding-3-small" className="flow-mono" translate="no" />
        </Form.Item>
        <Space>
          <Button type="primary" htmlType="submit" loading={busy} data-testid="bots-save">
            {t('bots.save')}
          </Button>
          <Button icon={<ApiOutlined />} loading={testing} onClick={runTest} data-testid="bots-test">
            {t('bots.test')}
          </Button>
        </Space>
      </Form>
      {test ? (
        <Alert
          style={{ marginTop: 16 }}
          type={test.ok ? 'success' : 'error'}
          showIcon
          data-testid="bots-test-result"
          title={test.ok ? t('bots.testOk', { ms: test.latency_ms, model: test.model }) : t('bots.testFailed', { ms: test.latency_ms })}
          description={test.ok ? test.reply : test.error}
        />
      ) : null}
    </Card>
  );
}

function FaqSettingsCard() {
  const { t } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const st = useQuery({ queryKey: keys.botSettings, queryFn: api.bots.settings });
  const [form] = Form.useForm<BotSettings>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (st.data) form.setFieldsValue(st.data);
  }, [st.data, form]);

  async function save(v: BotSettings) {
    setBusy(true);
    setError(null);
    try {
      qc.setQueryData(keys.botSettings, await api.bots.setSettings({ faq_threshold: v.faq_threshold, handoff_phrases: v.handoff_phrases ?? [] }));
      toast.success(t('bots.saved'));
    } catch (err) {
      setError(applyFormError(form, err, ['faq_threshold', 'handoff_phrases'], t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('bots.faqSettings')} data-testid="bots-faq-settings">
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={save} style={{ maxWidth: 640 }}>
        <Form.Item name="faq_threshold" label={t('bots.threshold')} extra={t('bots.thresholdHint')}>
          <Slider min={0.05} max={1} step={0.05} marks={{ 0.3: '0.3', 0.55: '0.55', 0.8: '0.8' }} />
        </Form.Item>
        {/* The phrases are the workspace's data (what visitors type, in any language), not interface text. */}
        <Form.Item name="handoff_phrases" label={t('bots.phrases')} extra={t('bots.phrasesHint')} className="user-content">
          <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',', '，']} aria-label={t('bots.phrases')} />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy}>
          {t('bots.save')}
        </Button>
      </Form>
    </Card>
  );
}
