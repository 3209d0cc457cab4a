package kefu

import (
	"regexp"
	"strings"
)

// Error messages in the languages clients ask for. An error's Code is what
// clients rely on (and translate themselves); its Message is for people, so
// the edges give it in the language of the request (Accept-Language: en or
// zh-CN) through Localize. Messages without a translation stay English.

// Language is the language Kefu answers in for an Accept-Language header:
// zh-CN for any Chinese preferred over English, en otherwise.
func Language(acceptLanguage string) string {
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return "zh-CN"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "en"
}

// Localize returns msg in lang when a translation is known.
func Localize(lang, msg string) string {
	if lang != "zh-CN" || msg == "" {
		return msg
	}
	if t, ok := zhMessages[msg]; ok {
		return t
	}
	for _, p := range zhPatterns {
		if m := p.re.FindStringSubmatch(msg); m != nil {
			out := p.zh
			for i, g := range m[1:] {
				out = strings.ReplaceAll(out, "$"+string(rune('1'+i)), g)
			}
			return out
		}
	}
	return msg
}

// LocalizeError returns a copy of e with its message and field messages in
// lang.
func LocalizeError(lang string, e *Error) *Error {
	if lang != "zh-CN" {
		return e
	}
	out := *e
	out.Message = Localize(lang, e.Message)
	if len(e.Fields) > 0 {
		out.Fields = make(map[string]string, len(e.Fields))
		for k, v := range e.Fields {
			out.Fields[k] = Localize(lang, v)
		}
	}
	return &out
}

var zhMessages = map[string]string{
	"some fields are invalid":                          "部分字段无效",
	"invalid or expired credentials":                   "凭据无效或已过期",
	"malformed JSON body":                              "请求体不是有效的 JSON",
	"request body is too large":                        "请求体过大",
	"could not read the request body":                  "无法读取请求体",
	"missing bearer token":                             "缺少访问令牌",
	"no such endpoint":                                 "没有这个接口",
	"no such conversation":                             "会话不存在",
	"no such agent":                                    "客服不存在",
	"no such user":                                     "用户不存在",
	"no such API key":                                  "API 密钥不存在",
	"no such file":                                     "文件不存在",
	"no such flow":                                     "流程不存在",
	"no such version of this flow":                     "该流程没有这个版本",
	"no such visitor":                                  "访客不存在",
	"only the visitor rates a conversation":            "只有访客本人可以评价会话",
	"the conversation is not resolved":                 "会话尚未结束",
	"the rating can no longer be changed":              "评价已超过 24 小时，不能再修改",
	"must be from 1 to 5":                              "必须在 1 到 5 之间",
	"no such contact":                                  "联系人不存在",
	"a contact with this external id exists":           "已有联系人使用这个外部 ID",
	"your role may not merge contacts":                 "你的角色不能合并联系人",
	"must be another contact":                          "必须是另一个联系人",
	"no such workspace":                                "工作区不存在",
	"no such session":                                  "会话登录不存在",
	"unknown widget key":                               "未知的挂件密钥",
	"server is shutting down":                          "服务器正在关闭",
	"too many requests; retry later":                   "请求过于频繁，请稍后再试",
	"the first frame must be hello":                    "第一帧必须是 hello",
	"no access to conversations":                       "无权访问会话",
	"the conversation changed":                         "会话已被更改",
	"your role may not manage users":                   "您的角色无权管理用户",
	"you may not grant a role above your own":          "不能授予高于自己的角色",
	"your role may not assign conversations to others": "您的角色无权把会话分配给他人",
	"the conversation is assigned to someone else; ask a supervisor to transfer it": "会话已分配给其他客服；请联系主管转接",
	"the workspace's last owner cannot be demoted, deactivated or deleted":          "工作区的最后一位所有者不能被降级、停用或删除",
	"this file link has expired; open the message again for a fresh one":            "文件链接已过期；请重新打开消息获取新链接",
	"could not find a free workspace address; try again":                            "找不到可用的工作区地址，请重试",
	"managing users needs a signed-in person":                                       "管理用户需要登录的用户",
	"an API key may manage agents and supervisors only":                             "API 密钥只能管理客服和主管",
	"an API key may make developer keys only":                                       "API 密钥只能创建开发者密钥",
	"this principal may not make API keys":                                          "无权创建 API 密钥",
	"only a signed-in person has a password":                                        "只有登录的用户才有密码",
	"only a signed-in person has sessions":                                          "只有登录的用户才有登录会话",
	"visitor tokens are for the widget socket only":                                 "访客令牌只能用于挂件连接",
	"is required":                                     "必填",
	"is required (or attach a file)":                  "必填（或附加文件）",
	"is taken":                                        "已被占用",
	"is empty":                                        "为空",
	"is given twice":                                  "重复提供",
	"is nested too deeply":                            "嵌套层级过深",
	"is deactivated":                                  "已停用",
	"is not a cursor this server gave":                "不是本服务器给出的游标",
	"is not your current password":                    "不是您当前的密码",
	"must be UTF-8 text":                              "必须是 UTF-8 文本",
	"must not contain control characters":             "不能包含控制字符",
	"must be a valid email address":                   "必须是有效的电子邮箱地址",
	"must be an email address":                        "必须是电子邮箱地址",
	"must be at least 8 characters":                   "至少 8 个字符",
	"must be 1-100 characters":                        "长度须为 1-100 个字符",
	"must be at most 100 characters":                  "最多 100 个字符",
	"must be an RFC 3339 time":                        "必须是 RFC 3339 时间",
	"must be agent, supervisor or admin":              "必须是 agent、supervisor 或 admin",
	"must be developer or admin":                      "必须是 developer 或 admin",
	"must be en or zh-CN":                             "必须是 en 或 zh-CN",
	"must be online, away or offline":                 "必须是 online、away 或 offline",
	"must be bot, queued, assigned or resolved":       "必须是 bot、queued、assigned 或 resolved",
	"must be zero or more":                            "必须大于或等于 0",
	"must be a non-negative integer":                  "必须是非负整数",
	"must be an origin like https://shop.example.com": "必须是来源地址，例如 https://shop.example.com",
	"must be 3-40 lowercase letters, digits or dashes, and not reserved": "必须是 3-40 个小写字母、数字或连字符，且不是保留名",
	"visitors cannot write private notes":                                "访客不能写内部备注",
	"the flow does not validate":                                         "流程校验未通过",
	"this site may not run this workspace's chat widget":                 "此网站无权运行该工作区的聊天插件",
	"this workspace's chat is for signed-in users only":                  "该工作区的在线咨询仅对已登录用户开放",
	"the identity's hash does not match its id":                          "身份哈希与身份 ID 不匹配",
	"answer the pre-chat form first":                                     "请先填写咨询前表单",
	"only a visitor answers the pre-chat form":                           "只有访客可以填写咨询前表单",
	"is not a field of the form":                                         "不是表单中的字段",
	"is already a field of the form":                                     "表单中已有这个字段",
	"is required for a custom field":                                     "自定义字段必须填写",
	"must be a colour like #0958d9":                                      "必须是颜色值，例如 #0958d9",
	"must be left or right":                                              "必须是 left 或 right",
	"must be an https:// address":                                        "必须是 https:// 地址",
	"must be empty (the page's language), en or zh-CN":                   "必须为空（跟随页面语言）、en 或 zh-CN",
	"must be name, email, phone or custom":                               "必须是 name、email、phone 或 custom",
	"must be 1-40 lowercase letters, digits or _, starting with a letter, and not name, email or phone": "必须是 1-40 个小写字母、数字或下划线，以字母开头，且不是 name、email 或 phone",
	"must be one of mon tue wed thu fri sat sun":                                                        "必须是 mon、tue、wed、thu、fri、sat、sun 之一",
	"must be HH:MM–HH:MM with the start before the end":                                                 "必须是 HH:MM–HH:MM，且开始早于结束",
	"must be a date like 2026-12-25":                                                                    "必须是日期，例如 2026-12-25",
}

var zhPatterns = []struct {
	re *regexp.Regexp
	zh string
}{
	{regexp.MustCompile(`^message body is over (\d+) bytes$`), "消息正文超过 $1 字节"},
	{regexp.MustCompile(`^file is over (\d+) MiB$`), "文件超过 $1 MiB"},
	{regexp.MustCompile(`^must be at most (\d+) characters$`), "最多 $1 个字符"},
	{regexp.MustCompile(`^must be at most (\d+) bytes$`), "最多 $1 字节"},
	{regexp.MustCompile(`^must be between (\d+) and (\d+)$`), "必须在 $1 到 $2 之间"},
	{regexp.MustCompile(`^no hello within (.+)$`), "$1 内没有收到 hello"},
	{regexp.MustCompile(`^your role may not manage a user whose role is (\w+)$`), "您的角色无权管理角色为 $1 的用户"},
	{regexp.MustCompile(`^your role may not (\w+) (\w+)$`), "您的角色无权执行此操作（$1 $2）"},
	{regexp.MustCompile(`^at most (\d+) intervals a day$`), "每天最多 $1 个时段"},
	{regexp.MustCompile(`^at most (\d+) dates$`), "最多 $1 个日期"},
	{regexp.MustCompile(`^unknown time zone "(.*)"$`), "未知时区 “$1”"},
	{regexp.MustCompile(`^at most (\d+) (\w+)$`), "最多 $1 个"},
	{regexp.MustCompile(`^expression: (.*)$`), "表达式错误：$1"},
}
