// The strings of Settings → Widget's editor, kept out of the app's first
// load (en.ts and zh-CN.ts are there on every page; the console's budget is
// tight): the page's own chunk adds them when it loads (registerWidgetStrings).
import i18n from 'i18next';

const en = {
  settingsTitle: 'Look and behaviour',
  color: 'Colour',
  position: 'Position',
  posRight: 'Bottom right',
  posLeft: 'Bottom left',
  greeting: 'Greeting',
  greetingHint: "Empty: the widget greets in the visitor's language.",
  launcherText: 'Launcher text',
  launcherHint: 'Empty: the round icon only.',
  avatar: 'Avatar or team photo',
  avatarHint: 'An https:// address of an image.',
  avatarPlaceholder: 'https://…',
  language: 'Language',
  langAuto: "Follow the visitor's page",
  langEn: 'English',
  langZh: 'Simplified Chinese',
  preview: 'Live preview',
  previewHint: 'Your widget with the settings on this page, before you save them.',
  prechatTitle: 'Pre-chat form',
  prechatEnabled: 'Ask these before the first message',
  prechatHint: 'Answers are saved on the contact: name, e-mail and phone on its fields, custom fields as attributes.',
  fieldType: 'Field',
  fieldLabel: 'Label shown to visitors',
  fieldKey: 'Attribute key',
  fieldRequired: 'Required',
  addField: 'Add a field',
  removeField: 'Remove',
  typeName: 'Name',
  typeEmail: 'E-mail',
  typePhone: 'Phone',
  typeCustom: 'Custom',
  fieldsMax: 'At most 20 fields',
  identityTitle: 'Identity verification',
  identityHint:
    'So that visitors cannot pretend to be one of your users, your server signs each user id with the identity secret, and the page passes the signature on as below; the same user sees their history on every device.',
  secret: 'Identity secret',
  secretHint: 'Keep it on your server; never put it in a web page.',
  rotate: 'Rotate secret',
  rotateConfirm: 'Hashes made with the current secret stop working at once. Rotate it?',
  rotated: 'A new identity secret is in place',
  requireIdentity: 'Only identified visitors may chat',
  requireIdentityHint: 'The widget stays hidden until the page calls Kefu.identify with a valid hash.',
  refusedTitle: 'Recently refused sites',
  refusedHint: 'Pages on these origins tried to load your widget and were refused (the last 20).',
  refusedEmpty: 'No site has been refused.',
  allowOrigin: 'Allow',
  hits: 'Attempts',
  lastAt: 'Last attempt',
  saveSettings: 'Save settings',
  adminOnly: "Only owners and admins can change the widget's settings.",
};

export type WidgetSettingsStrings = typeof en;

const zhCN: WidgetSettingsStrings = {
  settingsTitle: '外观与行为',
  color: '主题色',
  position: '位置',
  posRight: '右下角',
  posLeft: '左下角',
  greeting: '欢迎语',
  greetingHint: '留空：插件用访客的语言打招呼。',
  launcherText: '按钮文字',
  launcherHint: '留空：只显示圆形图标。',
  avatar: '头像或团队照片',
  avatarHint: '图片的网址（须为加密连接）。',
  avatarPlaceholder: '图片网址',
  language: '语言',
  langAuto: '跟随访客页面',
  langEn: '英语',
  langZh: '简体中文',
  preview: '实时预览',
  previewHint: '这是使用本页设置（尚未保存）的插件效果。',
  prechatTitle: '咨询前表单',
  prechatEnabled: '在第一条消息前询问以下信息',
  prechatHint: '答案保存在联系人上：姓名、邮箱和电话存入对应字段，自定义字段存为属性。',
  fieldType: '字段',
  fieldLabel: '访客看到的标题',
  fieldKey: '属性键',
  fieldRequired: '必填',
  addField: '添加字段',
  removeField: '删除',
  typeName: '姓名',
  typeEmail: '电子邮箱',
  typePhone: '电话',
  typeCustom: '自定义',
  fieldsMax: '最多 20 个字段',
  identityTitle: '身份验证',
  identityHint: '为防止访客冒充您的用户，请在服务器端用身份密钥为每个用户编号签名，再由页面按下面的方式传入签名；同一用户在任何设备上都能看到自己的历史记录。',
  secret: '身份密钥',
  secretHint: '请只保存在服务器上，切勿写进网页。',
  rotate: '更换密钥',
  rotateConfirm: '用当前密钥生成的哈希将立即失效。确定更换吗？',
  rotated: '新的身份密钥已生效',
  requireIdentity: '仅允许已验证身份的访客咨询',
  requireIdentityHint: '在页面以有效签名验证访客身份之前，插件保持隐藏。',
  refusedTitle: '最近被拒绝的网站',
  refusedHint: '这些来源的页面尝试加载您的插件并被拒绝（最近 20 个）。',
  refusedEmpty: '还没有网站被拒绝。',
  allowOrigin: '允许',
  hits: '尝试次数',
  lastAt: '最近一次',
  saveSettings: '保存设置',
  adminOnly: '只有所有者和管理员可以修改插件设置。',
};

export const widgetSettingsStrings = { en, 'zh-CN': zhCN } as const;

function add(lng: string): void {
  const strings = (widgetSettingsStrings as Record<string, WidgetSettingsStrings>)[lng];
  // Only into a language already loaded: an empty zh-CN bundle would make
  // loadLanguage think Chinese is there.
  if (!strings || !i18n.hasResourceBundle(lng, 'translation') || i18n.getResource(lng, 'translation', 'widgetSettings.settingsTitle')) return;
  i18n.addResourceBundle(lng, 'translation', { widgetSettings: strings }, true, false);
}

let registered = false;

/** Adds the editor's strings (key prefix widgetSettings.) to each language, now and when one loads later. */
export function registerWidgetStrings(): void {
  add('en');
  add('zh-CN');
  if (registered) return;
  registered = true;
  i18n.store.on('added', (lng: string) => add(lng));
}
