package kefu_test

import (
	"testing"

	"kefu"
)

func TestErrorsFollowTheRequestsLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ header, want string }{
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"}, {"zh-TW", "zh-CN"}, {"en-US,en;q=0.9", "en"}, {"fr-FR", "en"}, {"", "en"}, {"fr, zh;q=0.5", "zh-CN"},
	} {
		if got := kefu.Language(tc.header); got != tc.want {
			t.Errorf("Language(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
	e := kefu.LocalizeError("zh-CN", &kefu.Error{Code: kefu.EInvalid, Message: "some fields are invalid",
		Fields: map[string]string{"name": "must be at most 100 characters", "x": "something new"}})
	if e.Message != "部分字段无效" || e.Fields["name"] != "最多 100 个字符" || e.Fields["x"] != "something new" || e.Code != kefu.EInvalid {
		t.Errorf("localized: %+v", e)
	}
	if got := kefu.Localize("zh-CN", "message body is over 16384 bytes"); got != "消息正文超过 16384 字节" {
		t.Errorf("pattern: %q", got)
	}
	if got := kefu.Localize("en", "no such conversation"); got != "no such conversation" {
		t.Errorf("en: %q", got)
	}
}
