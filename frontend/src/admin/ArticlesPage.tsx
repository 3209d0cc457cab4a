import { useState } from 'react';
import { Alert, Button, Form, Input, Modal, Popconfirm, Space, Table, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, formatSize, type Article } from '../api';
import { applyFormError } from '../lib/forms';
import { dateTime } from '../lib/format';
import { keys } from '../realtime/keys';
import { useToast } from '../components/Toast';

/** /app/admin/articles: help articles the model draws on (never sent whole). */
export default function ArticlesPage() {
  const { t, i18n } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: keys.articles, queryFn: api.articles.list });
  const [editing, setEditing] = useState<Article | 'new' | null>(null);

  async function remove(id: string) {
    try {
      await api.articles.remove(id);
      await qc.invalidateQueries({ queryKey: keys.articles });
      toast.success(t('articles.deleted'));
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  return (
    <div className="admin-page" data-testid="articles-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('articles.title')}
        </Typography.Title>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="article-add">
          {t('articles.add')}
        </Button>
      </div>
      <Typography.Paragraph type="secondary">{t('articles.intro')}</Typography.Paragraph>
      {list.isError ? <Alert type="error" showIcon title={errorMessage(list.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<Article>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data ?? []}
        pagination={false}
        scroll={{ x: 560 }}
        locale={{ emptyText: t('articles.empty') }}
        columns={[
          { title: t('articles.titleField'), dataIndex: 'title' },
          { title: t('articles.size'), dataIndex: 'size', width: 110, render: (n: number) => formatSize(n) },
          { title: t('articles.chunks'), dataIndex: 'chunks', width: 90 },
          { title: t('articles.updated'), dataIndex: 'updated_at', width: 180, render: (d: string) => dateTime(d, i18n.language) },
          {
            key: 'actions',
            align: 'right',
            width: 150,
            render: (_: unknown, a: Article) => (
              <Space>
                <Button size="small" onClick={() => setEditing(a)}>
                  {t('faq.edit')}
                </Button>
                <Popconfirm
                  title={t('articles.deleteConfirm')}
                  okText={t('faq.delete')}
                  cancelText={t('app.cancel')}
                  okButtonProps={{ danger: true }}
                  onConfirm={() => remove(a.id)}
                >
                  <Button size="small" danger>
                    {t('faq.delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <ArticleModal
        article={editing}
        onClose={() => setEditing(null)}
        onSaved={() => {
          setEditing(null);
          void qc.invalidateQueries({ queryKey: keys.articles });
          toast.success(t('faq.saved'));
        }}
      />
    </div>
  );
}

const MAX_BODY = 200 * 1024;

function ArticleModal({ article, onClose, onSaved }: { article: Article | 'new' | null; onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ title: string; body: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const editing = article && article !== 'new' ? article : null;
  // The list has no bodies: read the one being edited.
  const full = useQuery({ queryKey: ['article', editing?.id], queryFn: () => api.articles.get(editing!.id), enabled: !!editing });

  async function submit(v: { title: string; body: string }) {
    if (new TextEncoder().encode(v.body).length > MAX_BODY) {
      setError(t('articles.tooLarge'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (editing) await api.articles.update(editing.id, v);
      else await api.articles.create(v);
      onSaved();
    } catch (err) {
      setError(applyFormError(form, err, ['title', 'body'], t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  const ready = !editing || full.data;
  return (
    <Modal
      open={!!article}
      title={editing ? t('articles.edit') : t('articles.add')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('faq.save')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      destroyOnHidden
      width={760}
      okButtonProps={{ disabled: !ready }}
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      {ready ? (
        <Form
          form={form}
          layout="vertical"
          requiredMark={false}
          onFinish={submit}
          preserve={false}
          initialValues={full.data ? { title: full.data.title, body: full.data.body } : {}}
        >
          <Form.Item name="title" label={t('articles.titleField')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
            <Input maxLength={200} data-testid="article-title" />
          </Form.Item>
          <Form.Item name="body" label={t('articles.body')} extra={t('articles.bodyHint')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
            <Input.TextArea autoSize={{ minRows: 10, maxRows: 24 }} className="flow-mono" data-testid="article-body" />
          </Form.Item>
        </Form>
      ) : null}
    </Modal>
  );
}
