// The widget's own small string table (en, zh-CN), picked from the page's
// language: i18next would cost a third of the widget's 40 KB budget.
const en = {
  open: 'Open chat',
  close: 'Close chat',
  title: 'Chat with us',
  online: 'We usually reply in a few minutes',
  offline: 'We are away right now. Leave a message and we will reply here.',
  queue: 'You are number {n} in line',
  greeting: 'Hi! How can we help you today?',
  placeholder: 'Type your message…',
  send: 'Send',
  typing: '{name} is typing…',
  someone: 'Support',
  sending: 'Sending…',
  sent: 'Sent',
  failed: 'Not sent. Tap to retry.',
  connecting: 'Connecting…',
  offlineNet: 'Reconnecting…',
  unread: '{n} new messages',
  bot: 'Bot',
  powered: 'Powered by Kefu',
  unavailable: 'Chat is unavailable right now.',
  tooLong: 'This message is too long.',
  attach: 'Attach a file',
  uploading: 'Uploading…',
  tooBig: 'File is over 10 MB',
  tooMany: 'Up to 10 files at a time',
  uploadFailed: 'Upload failed. Tap to retry.',
  human: 'Talk to a person',
  humanAsked: 'Connecting you to a person…',
  seen: 'Seen',
  csatAsk: 'How was your conversation?',
  csatStar: '{n} of 5',
  csatComment: 'Anything to add? (optional)',
  csatSend: 'Send rating',
  csatThanks: 'Thanks for your feedback!',
  csatFailed: 'The rating was not sent. Try again.',
  sys_assigned: '{agent_name} joined the conversation',
  sys_transferred: '{agent_name} took over the conversation',
  sys_team_assigned: 'Passed to the {team} team',
  sys_unassigned: 'Waiting for an agent',
  sys_resolved: 'Conversation resolved',
  sys_reopened: 'Conversation reopened',
  sys_agent_away: 'Waiting for another agent',
  sys_queued: 'Waiting for an agent',
};
export type WidgetStrings = typeof en;

const zh: WidgetStrings = {
  open: '打开聊天',
  close: '关闭聊天',
  title: '在线咨询',
  online: '我们通常在几分钟内回复',
  offline: '客服暂时不在，请留言，我们会在这里回复您。',
  queue: '您前面还有 {n} 位',
  greeting: '您好！有什么可以帮您？',
  placeholder: '输入消息…',
  send: '发送',
  typing: '{name} 正在输入…',
  someone: '客服',
  sending: '发送中…',
  sent: '已发送',
  failed: '发送失败，点击重试',
  connecting: '连接中…',
  offlineNet: '正在重新连接…',
  unread: '{n} 条新消息',
  bot: '机器人',
  powered: '由 Kefu 提供支持',
  unavailable: '在线咨询暂时不可用。',
  tooLong: '消息太长了。',
  attach: '发送文件',
  uploading: '上传中…',
  tooBig: '文件超过 10 MB',
  tooMany: '一次最多 10 个文件',
  uploadFailed: '上传失败，点击重试',
  human: '转人工',
  humanAsked: '正在为您转接人工客服…',
  seen: '已读',
  csatAsk: '您对本次服务满意吗？',
  csatStar: '{n} 星（满分 5 星）',
  csatComment: '还有什么想说的吗？（选填）',
  csatSend: '提交评价',
  csatThanks: '感谢您的评价！',
  csatFailed: '评价未能提交，请重试。',
  sys_assigned: '{agent_name} 已加入会话',
  sys_transferred: '{agent_name} 已接手会话',
  sys_team_assigned: '已转给 {team} 团队',
  sys_unassigned: '正在等待客服',
  sys_resolved: '会话已结束',
  sys_reopened: '会话已重新打开',
  sys_agent_away: '正在等待其他客服',
  sys_queued: '正在等待客服',
};

export function pickStrings(lang: string | undefined): WidgetStrings {
  return (lang ?? '').toLowerCase().startsWith('zh') ? zh : en;
}

export function fill(s: string, vars: Record<string, string | number>): string {
  return s.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));
}

/** A system message in the widget's language from its code, or its stored body for a code it does not know. */
export function systemText(s: WidgetStrings, body: string, system?: { code: string; params?: Record<string, string> | null } | null): string {
  const key = system ? (`sys_${system.code}` as keyof WidgetStrings) : undefined;
  if (!key || !(key in s)) return body;
  return fill(s[key], system?.params ?? {});
}
