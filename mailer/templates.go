package mailer

import (
	"fmt"
	"strings"
)

// Kind names one of Kefu's e-mails; each has a subject and a body in
// zh-CN and en, with {{param}} placeholders.
type Kind string

// The e-mails Kefu sends, and the parameters each takes.
const (
	// Invite: workspace, inviter, link.
	Invite Kind = "invite"
	// PasswordReset: workspace, link.
	PasswordReset Kind = "password_reset"
	// Workspaces: workspaces (one per line, each with its sign-in link).
	Workspaces Kind = "workspaces"
	// Reply: workspace, agent, body (the agent's reply), link (back to the chat).
	Reply Kind = "reply"
)

type template struct{ subject, body string }

var templates = map[Kind]map[string]template{
	Invite: {
		"en": {"{{inviter}} invited you to {{workspace}} on Kefu",
			"{{inviter}} invited you to answer customers of {{workspace}} on Kefu.\n\nAccept the invitation and choose your password:\n{{link}}\n\nThe link works for 7 days. If you did not expect this, ignore this e-mail.\n"},
		"zh-CN": {"{{inviter}} 邀请你加入 {{workspace}} 的客服团队",
			"{{inviter}} 邀请你在 Kefu 上为 {{workspace}} 接待客户。\n\n接受邀请并设置密码：\n{{link}}\n\n链接 7 天内有效。如果这不是你预期的邮件，请忽略。\n"},
	},
	PasswordReset: {
		"en": {"Reset your password for {{workspace}}",
			"Someone asked to reset the password of this address for {{workspace}} on Kefu.\n\nChoose a new password:\n{{link}}\n\nThe link works for one hour and only once. If it was not you, ignore this e-mail: your password stays as it is.\n"},
		"zh-CN": {"重置 {{workspace}} 的登录密码",
			"有人请求重置此邮箱在 Kefu 上 {{workspace}} 的密码。\n\n设置新密码：\n{{link}}\n\n链接 1 小时内有效，且只能使用一次。如果不是你本人操作，请忽略此邮件，密码不会改变。\n"},
	},
	Workspaces: {
		"en": {"Your Kefu workspaces",
			"This address can sign in to these workspaces:\n\n{{workspaces}}\n\nIf you did not ask for this, ignore this e-mail.\n"},
		"zh-CN": {"你的 Kefu 工作区",
			"此邮箱可以登录以下工作区：\n\n{{workspaces}}\n\n如果不是你本人操作，请忽略此邮件。\n"},
	},
	Reply: {
		"en": {"{{agent}} of {{workspace}} replied",
			"{{agent}} of {{workspace}} replied to your message:\n\n{{body}}\n\nContinue the conversation:\n{{link}}\n"},
		"zh-CN": {"{{workspace}} 的 {{agent}} 回复了你",
			"{{workspace}} 的 {{agent}} 回复了你的留言：\n\n{{body}}\n\n继续对话：\n{{link}}\n"},
	},
}

// Compose fills the e-mail of kind k in lang (zh-CN, or en for anything
// else) with params. A placeholder with no parameter is an error, so a
// template and its callers cannot drift apart unnoticed.
func Compose(lang string, k Kind, to string, params map[string]string) (Message, error) {
	byLang, ok := templates[k]
	if !ok {
		return Message{}, fmt.Errorf("mailer: no e-mail %q", k)
	}
	t, ok := byLang[lang]
	if !ok {
		t = byLang["en"]
	}
	subject, err := fill(t.subject, params)
	if err != nil {
		return Message{}, err
	}
	body, err := fill(t.body, params)
	if err != nil {
		return Message{}, err
	}
	return Message{To: to, Subject: subject, Body: body}, nil
}

func fill(s string, params map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return "", fmt.Errorf("mailer: unclosed placeholder in %q", s)
		}
		name := s[i+2 : i+j]
		v, ok := params[name]
		if !ok {
			return "", fmt.Errorf("mailer: parameter %q missing", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+2:]
	}
}
