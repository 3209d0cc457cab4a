// The inspector's form for each node type (registry.ts picks one per type).
// Each form is controlled: it shows `data` and calls `onChange` with the next
// data; the store records it (one undo step per burst of typing).
import { useMemo, type ReactNode } from 'react';
import { Button, Form, Input, InputNumber, Popover, Radio, Select, Space, Tooltip, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, PlusOutlined, QuestionCircleOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { keys } from '../realtime/keys';
import { useTeamNames } from './useTeamNames';
import { STRATEGIES, type FlowNodeType, type NodeDataMap, type SwitchCase } from './types';

export interface InspectorProps<T extends FlowNodeType> {
  /** The node's id, for input ids. */
  id: string;
  data: NodeDataMap[T];
  onChange: (data: NodeDataMap[T]) => void;
  readOnly: boolean;
  /** The server's message for this node, if its last save failed on it. */
  error?: string;
}

/** A form item whose label points at its input. */
export function Field({ label, htmlFor, help, children, error }: { label: ReactNode; htmlFor?: string; help?: ReactNode; error?: boolean; children: ReactNode }) {
  return (
    <Form.Item label={label} htmlFor={htmlFor} extra={help} validateStatus={error ? 'error' : undefined} style={{ marginBottom: 14 }}>
      {children}
    </Form.Item>
  );
}

const VARIABLES: [string, string][] = [
  ['event', '"conversation.created" | "message.created"'],
  ['visitor.name / email / language / country', 'string'],
  ['visitor.page_url / referrer', 'string'],
  ['visitor.returning', 'bool'],
  ['visitor.attributes.plan', 'any'],
  ['message.text / has_attachment', 'string / bool'],
  ['conversation.status / messages_count / wait_seconds', ''],
  ['now.hour / weekday / date', ''],
  ['contains_any(message.text, ["refund", "退款"])', 'bool'],
  ['hour(now, "Asia/Shanghai")', 'int'],
  ['attr(visitor.attributes, "plan")', 'any'],
  ['message.text matches "^order \\\\d+"', 'bool'],
];

function ExprHelp() {
  const { t } = useTranslation();
  return (
    <Popover
      trigger="click"
      title={t('flows.expr.helpTitle')}
      content={
        <div className="flow-expr-help">
          <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
            {t('flows.expr.helpIntro')}
          </Typography.Paragraph>
          <table>
            <tbody>
              {VARIABLES.map(([v, ty]) => (
                <tr key={v}>
                  <td>
                    <code>{v}</code>
                  </td>
                  <td className="muted">{ty}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      }
    >
      <Button type="link" size="small" icon={<QuestionCircleOutlined />} style={{ padding: 0 }}>
        {t('flows.expr.help')}
      </Button>
    </Popover>
  );
}

/** An expression (expr-lang) in a monospace text area. */
export function ExprInput({
  id,
  value,
  onChange,
  readOnly,
  error,
  placeholder,
}: {
  id: string;
  value: string;
  onChange: (v: string) => void;
  readOnly: boolean;
  error?: boolean;
  placeholder?: string;
}) {
  return (
    <Input.TextArea
      id={id}
      className="flow-expr"
      value={value}
      onChange={(e) => onChange(e.target.value)}
      readOnly={readOnly}
      autoSize={{ minRows: 2, maxRows: 8 }}
      spellCheck={false}
      autoCapitalize="off"
      autoCorrect="off"
      status={error ? 'error' : undefined}
      placeholder={placeholder}
      data-testid="expr-input"
    />
  );
}

export function NoDataForm() {
  const { t } = useTranslation();
  return <Typography.Paragraph type="secondary">{t('flows.inspector.noSettings')}</Typography.Paragraph>;
}

export function ConditionForm({ id, data, onChange, readOnly, error }: InspectorProps<'condition'>) {
  const { t } = useTranslation();
  return (
    <Field label={t('flows.field.expr')} htmlFor={`${id}-expr`} help={<ExprHelp />} error={!!error}>
      <ExprInput
        id={`${id}-expr`}
        value={data.expr}
        onChange={(expr) => onChange({ ...data, expr })}
        readOnly={readOnly}
        error={!!error}
        placeholder='visitor.attributes.plan == "pro"'
      />
    </Field>
  );
}

function nextCaseLabel(cases: SwitchCase[]): string {
  const used = new Set(cases.map((c) => c.label));
  for (let i = cases.length + 1; ; i++) if (!used.has(`case${i}`)) return `case${i}`;
}

export function SwitchForm({ id, data, onChange, readOnly, error }: InspectorProps<'switch'>) {
  const { t } = useTranslation();
  const cases = data.cases;
  const put = (next: SwitchCase[]) => onChange({ ...data, cases: next });
  const move = (i: number, d: number) => {
    const next = [...cases];
    const [c] = next.splice(i, 1);
    next.splice(i + d, 0, c!);
    put(next);
  };
  return (
    <div>
      <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
        {t('flows.field.casesHint')} <ExprHelp />
      </Typography.Paragraph>
      <ol className="flow-cases" data-testid="switch-cases">
        {cases.map((c, i) => (
          <li key={i} className="flow-case">
            <Space.Compact block style={{ marginBottom: 6 }}>
              <Input
                id={`${id}-case-${i}-label`}
                aria-label={t('flows.field.caseLabel', { n: i + 1 })}
                value={c.label}
                readOnly={readOnly}
                maxLength={40}
                onChange={(e) => put(cases.map((x, j) => (j === i ? { ...x, label: e.target.value } : x)))}
                data-testid="case-label"
              />
              <Tooltip title={t('flows.field.moveUp')}>
                <Button icon={<ArrowUpOutlined />} disabled={readOnly || i === 0} onClick={() => move(i, -1)} aria-label={t('flows.field.moveUp')} />
              </Tooltip>
              <Tooltip title={t('flows.field.moveDown')}>
                <Button icon={<ArrowDownOutlined />} disabled={readOnly || i === cases.length - 1} onClick={() => move(i, 1)} aria-label={t('flows.field.moveDown')} />
              </Tooltip>
              <Tooltip title={t('flows.field.removeCase')}>
                <Button
                  icon={<DeleteOutlined />}
                  danger
                  disabled={readOnly || cases.length <= 1}
                  onClick={() => put(cases.filter((_, j) => j !== i))}
                  aria-label={t('flows.field.removeCase')}
                />
              </Tooltip>
            </Space.Compact>
            <ExprInput
              id={`${id}-case-${i}-expr`}
              value={c.expr}
              readOnly={readOnly}
              error={!!error && error.includes(`"${c.label}"`)}
              placeholder='contains_any(message.text, ["refund", "退款"])'
              onChange={(expr) => put(cases.map((x, j) => (j === i ? { ...x, expr } : x)))}
            />
          </li>
        ))}
      </ol>
      <Button
        icon={<PlusOutlined />}
        block
        disabled={readOnly || cases.length >= 20}
        onClick={() => put([...cases, { label: nextCaseLabel(cases), expr: '' }])}
        data-testid="add-case"
      >
        {t('flows.field.addCase')}
      </Button>
    </div>
  );
}

export function ReplyForm({ id, data, onChange, readOnly }: InspectorProps<'reply'>) {
  const { t } = useTranslation();
  return (
    <Field label={t('flows.field.text')} htmlFor={`${id}-text`}>
      <Input.TextArea
        id={`${id}-text`}
        value={data.text}
        readOnly={readOnly}
        autoSize={{ minRows: 3, maxRows: 10 }}
        showCount
        maxLength={2000}
        placeholder={t('flows.field.textPlaceholder')}
        onChange={(e) => onChange({ ...data, text: e.target.value })}
        data-testid="reply-text"
      />
    </Field>
  );
}

function Ms({
  id,
  value,
  onChange,
  readOnly,
  min,
  max,
  label,
  help,
}: {
  id: string;
  value: number;
  onChange: (v: number) => void;
  readOnly: boolean;
  min: number;
  max: number;
  label: string;
  help?: string;
}) {
  return (
    <Field label={label} htmlFor={id} help={help}>
      <InputNumber
        id={id}
        value={value}
        min={min}
        max={max}
        step={500}
        readOnly={readOnly}
        suffix="ms"
        style={{ width: '100%' }}
        onChange={(v) => onChange(typeof v === 'number' ? v : 0)}
      />
    </Field>
  );
}

export function LlmForm({ id, data, onChange, readOnly }: InspectorProps<'llm'>) {
  const { t } = useTranslation();
  return (
    <>
      <Ms
        id={`${id}-timeout`}
        label={t('flows.field.llmTimeout')}
        help={t('flows.field.llmTimeoutHint')}
        value={data.timeout_ms}
        min={100}
        max={60000}
        readOnly={readOnly}
        onChange={(timeout_ms) => onChange({ ...data, timeout_ms })}
      />
      <Field label={t('flows.field.fallback')} htmlFor={`${id}-fallback`} help={t('flows.field.fallbackHint')}>
        <Input.TextArea
          id={`${id}-fallback`}
          value={data.fallback_text}
          readOnly={readOnly}
          autoSize={{ minRows: 2, maxRows: 8 }}
          maxLength={2000}
          onChange={(e) => onChange({ ...data, fallback_text: e.target.value })}
        />
      </Field>
      <Field label={t('flows.field.llmModel')} htmlFor={`${id}-model`} help={t('flows.field.llmModelHint')}>
        <Input
          id={`${id}-model`}
          value={data.model ?? ''}
          readOnly={readOnly}
          maxLength={200}
          className="flow-mono"
          onChange={(e) => onChange({ ...data, model: e.target.value })}
        />
      </Field>
      <Field label={t('flows.field.llmPrompt')} htmlFor={`${id}-prompt`} help={t('flows.field.llmPromptHint')}>
        <Input.TextArea
          id={`${id}-prompt`}
          value={data.system_prompt ?? ''}
          readOnly={readOnly}
          autoSize={{ minRows: 2, maxRows: 10 }}
          maxLength={8000}
          onChange={(e) => onChange({ ...data, system_prompt: e.target.value })}
        />
      </Field>
    </>
  );
}

export function SetForm({ id, data, onChange, readOnly, error }: InspectorProps<'set'>) {
  const { t } = useTranslation();
  return (
    <>
      <Field label={t('flows.field.attribute')} htmlFor={`${id}-attr`} help={t('flows.field.attributeHint')}>
        <Input
          id={`${id}-attr`}
          value={data.attribute}
          readOnly={readOnly}
          maxLength={40}
          placeholder="segment"
          className="flow-mono"
          onChange={(e) => onChange({ ...data, attribute: e.target.value })}
        />
      </Field>
      <Field label={t('flows.field.value')} htmlFor={`${id}-expr`} help={<ExprHelp />} error={!!error}>
        <ExprInput
          id={`${id}-expr`}
          value={data.expr}
          readOnly={readOnly}
          error={!!error}
          placeholder='visitor.country == "CN" ? "china" : "intl"'
          onChange={(expr) => onChange({ ...data, expr })}
        />
      </Field>
    </>
  );
}

export function TagForm({ id, data, onChange, readOnly }: InspectorProps<'tag'>) {
  const { t } = useTranslation();
  return (
    <Field label={t('flows.field.labels')} htmlFor={`${id}-labels`} help={t('flows.field.labelsHint')}>
      <Select
        id={`${id}-labels`}
        mode="tags"
        open={false}
        suffixIcon={null}
        tokenSeparators={[',']}
        value={data.labels}
        disabled={readOnly}
        placeholder={t('flows.field.labelsPlaceholder')}
        onChange={(labels: string[]) => onChange({ ...data, labels })}
      />
    </Field>
  );
}

export function WebhookForm({ id, data, onChange, readOnly }: InspectorProps<'webhook'>) {
  const { t } = useTranslation();
  return (
    <>
      <Field label={t('flows.field.url')} htmlFor={`${id}-url`} help={t('flows.field.urlHint')}>
        <Input
          id={`${id}-url`}
          value={data.url}
          readOnly={readOnly}
          type="url"
          placeholder="https://example.com/kefu-hook"
          onChange={(e) => onChange({ ...data, url: e.target.value })}
        />
      </Field>
      <Ms
        id={`${id}-timeout`}
        label={t('flows.field.timeoutMs')}
        value={data.timeout_ms}
        min={100}
        max={30000}
        readOnly={readOnly}
        onChange={(timeout_ms) => onChange({ ...data, timeout_ms })}
      />
    </>
  );
}

function Seconds({ id, value, onChange, readOnly, label }: { id: string; value: number; onChange: (v: number) => void; readOnly: boolean; label: string }) {
  const { t } = useTranslation();
  return (
    <Field label={label} htmlFor={id} help={t('flows.field.secondsHint')}>
      <InputNumber
        id={id}
        value={value}
        min={0}
        max={86400}
        step={30}
        readOnly={readOnly}
        suffix={t('flows.field.secondsUnit')}
        style={{ width: '100%' }}
        onChange={(v) => onChange(typeof v === 'number' ? v : 0)}
        data-testid="timeout-seconds"
      />
    </Field>
  );
}

export function QueueForm({ id, data, onChange, readOnly }: InspectorProps<'queue'>) {
  const { t } = useTranslation();
  return (
    <Seconds
      id={`${id}-timeout`}
      label={t('flows.field.queueTimeout')}
      value={data.timeout_seconds}
      readOnly={readOnly}
      onChange={(timeout_seconds) => onChange({ ...data, timeout_seconds })}
    />
  );
}

export function AssignForm({ id, data, onChange, readOnly }: InspectorProps<'assign'>) {
  const { t } = useTranslation();
  const agents = useQuery({ queryKey: keys.agents, queryFn: api.agents.list, staleTime: 30_000 });
  const skills = useMemo(() => [...new Set((agents.data ?? []).flatMap((a) => a.skills ?? []).map((s) => s.toLowerCase()))].sort(), [agents.data]);
  const teams = useTeamNames();
  return (
    <>
      <Field label={t('flows.field.strategy')}>
        <Radio.Group value={data.strategy} disabled={readOnly} onChange={(e) => onChange({ ...data, strategy: e.target.value })} data-testid="assign-strategy">
          <Space orientation="vertical" size={4}>
            {STRATEGIES.map((s) => (
              <Radio key={s} value={s} data-testid={`strategy-${s}`}>
                {t(`flows.strategy.${s}`)} <span className="muted">— {t(`flows.strategyHint.${s}`)}</span>
              </Radio>
            ))}
          </Space>
        </Radio.Group>
      </Field>
      <Field label={t('flows.field.skills')} htmlFor={`${id}-skills`} help={data.strategy === 'skills' ? t('flows.field.skillsHint') : t('flows.field.skillsAny')}>
        <Select
          id={`${id}-skills`}
          mode="tags"
          tokenSeparators={[',', ' ']}
          value={data.skills}
          disabled={readOnly}
          placeholder={t('flows.field.skillsPlaceholder')}
          options={skills.map((s) => ({ value: s, label: s }))}
          onChange={(v: string[]) => onChange({ ...data, skills: v.map((s) => s.trim().toLowerCase()).filter(Boolean) })}
          data-testid="assign-skills"
        />
      </Field>
      <Field label={t('flows.field.team')} htmlFor={`${id}-team`} help={t('flows.field.teamHint')}>
        <Select
          id={`${id}-team`}
          value={data.team || undefined}
          disabled={readOnly}
          showSearch
          optionFilterProp="label"
          options={[
            ...(teams.data ?? []).map((x) => ({ value: x.id, label: x.name })),
            // A team named before teams had ids (the server still matches it by name).
            ...(data.team && !(teams.data ?? []).some((x) => x.id === data.team) ? [{ value: data.team, label: data.team }] : []),
          ]}
          placeholder={t('flows.field.teamPlaceholder')}
          onChange={(team?: string) => onChange({ ...data, team: team ?? '' })}
          allowClear
          data-testid="assign-team"
        />
      </Field>
      <Seconds
        id={`${id}-timeout`}
        label={t('flows.field.assignTimeout')}
        value={data.timeout_seconds}
        readOnly={readOnly}
        onChange={(timeout_seconds) => onChange({ ...data, timeout_seconds })}
      />
    </>
  );
}
