// The landing page's strings, apart from the rest: the landing page is a
// small static entry (src/landing) that must not pull in every string of the
// app. en.ts and zh-CN.ts include these as their "landing" section.
export const landingEn = {
  title: 'Talk to your customers, right where they are',
  subtitle:
    'Kefu is open-source customer service: paste one script tag into your site and your visitors chat with your team in real time. Routing flows, bots and a REST API included.',
  signup: 'Sign up free',
  login: 'Log in',
  point1Title: 'One line to install',
  point1: 'A small widget that loads fast and never touches your page styles.',
  point2Title: 'Built for agents',
  point2: 'A quiet three-pane console with live updates, notes and keyboard shortcuts.',
  point3Title: 'Yours to run',
  point3: 'One Go binary. SQLite on a laptop, PostgreSQL and Redis when you grow.',
  switchLanguage: '中文',
  switchLanguageLabel: 'Switch to Chinese',
} as const;

export const landingZh: { [K in keyof typeof landingEn]: string } = {
  title: '在客户所在的地方，与他们交谈',
  subtitle: 'Kefu 是开源的在线客服系统：在网站上粘贴一行代码，访客即可与您的团队实时对话。自带路由流程、机器人和开放 API。',
  signup: '免费注册',
  login: '登录',
  point1Title: '一行代码安装',
  point1: '小巧的聊天插件，加载迅速，绝不影响页面样式。',
  point2Title: '为客服人员打造',
  point2: '安静的三栏工作台：实时更新、内部备注、键盘快捷键。',
  point3Title: '自主部署',
  point3: '一个程序即可运行：笔记本上开箱即用，业务增长后可扩展到多台服务器和独立数据库。',
  switchLanguage: 'English',
  switchLanguageLabel: '切换到英文',
};
