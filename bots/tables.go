package bots

import "strings"

// The tables matching uses. They are read-only after the package loads.

// stopWords are English (and pinyin-free) function words: they say how a
// question is asked, not what it is about.
var stopWords = setOf(strings.Fields(`a an the is are was were be been being am do does did doing done
i me my mine we us our you your yours he him his she her it its they them their this that these those
what which who whom whose when where why how there here
can could would should will shall may might must
to of in on at by for with from about as into over under up down out off than then so too very just
and or but if not no yes also only own same such any some each every all both more most other
hi hello hey please thanks thank pls plz ok okay dear sir madam
get got have has had want wanted need needs like know tell let make
anyone someone something anything`))

// stopHan are characters that carry no topic alone (the bigrams they are in
// still count: 会员, 需要).
var stopHan = runeSet("办的了吗呢吧啊呀么是我你他她它们在有和与及或就都也还请问一个这那哪怎什如何能可以要想会把被给对为到得着过嘛哦呃您啦哈喔嗯吗么呐")

// particles are dropped from a run of Chinese before it is cut: they
// rarely start or end a word, and without them the words around them meet
// (我的快递 → 我快递 holds 快递 … and 退的钱 holds 退钱).
var particles = runeSet("的吗呢吧啊呀嘛哦啦呐")

// glue characters join words more than they make them: a bigram with one
// is almost always two words' edges (品有, 有中).
var glue = runeSet("有是在我你他她它这那哪了")

// numerals say how many, not what about.
var numerals = runeSet("零一二三四五六七八九十百千万两几")

// stopBigram are pairs that only frame a question.
var stopBigram = setOf(strings.Fields(`请问 问一 一下 什么 怎么 怎样 如何 可以 我们 你们 他们 是不 不是 一个 这个 那个 哪个 是否 能否 么样 么办 我的 你的 的话 吗我 了吗 的吗 么是 是什 我想 我要 想要 要怎 么才 请帮 帮我 您好 你好 有没 没有 能不 不能 可不 以吗 我该 该怎 怎办 为什 么我 么会 会不 么时 候可 处理 需要 一百 一千 两个 一年`))

// enSynonyms maps a stemmed word to the token it shares with its synonyms.
var enSynonyms = synonymMap(stem, `
ship: deliver delivery shipment dispatch shipping
price: cost fee charge
refund: reimburse reimbursement
invoice: receipt bill fapiao
discount: coupon promo voucher promotion
login: signin logon log
password: passcode pwd
cancel: cancellation cancelled
track: tracking
contact: reach phone call
hour: open opening
pay: payment paid checkout
size: sizing
account: profile
order: purchase bought buy
return: returns returned returning
address: addresses
exchange: swap
abroad: overseas international internationally abroad usa america canada uk britain japan australia germany france singapore
when: long
damage: damaged broken broke crack cracked`)

// enPhrases maps two-word phrases to a shared token.
var enPhrases = map[string]string{
	"sign in": "~login", "log in": "~login", "logged in": "~login", "send back": "~return", "sent back": "~return",
	"money back": "~refund", "how much": "~price", "phone number": "~phone", "how long": "~when", "what time": "~hour",
}

// zhSynonyms maps a Chinese word to the token it shares with its synonyms.
var zhSynonyms = synonymMap(func(s string) string { return s }, `
运费: 邮费 快递费 配送费 运输费 物流费
发货=ship: 寄出 出货 送出 寄货
快递: 物流 配送 送货 运输 包裹
退货=return: 退回 退换 退还
退款=refund: 退钱 返款
发票=invoice: 收据 开票
优惠=discount: 折扣 打折 优惠券 优惠码 代金券 促销
登录=login: 登陆 登入 登不 进不
密码=password: 口令
付款=pay: 支付 付钱 买单 结账 付费
取消=cancel: 撤销 撤单
地址=address: 收货地址
会员: 积分
营业=hour: 上班 营业时间 工作时间
联系=contact: 电话 热线 联络
查询: 查看 追踪 跟踪 查一
换货=exchange: 更换 调换
尺码=size: 尺寸 大小 码数
国外=abroad: 海外 国际 境外 美国 英国 日本 韩国 加拿大 澳洲 澳大利亚 德国 法国 新加坡 马来西亚
时候=when: 几天 多久 多长 几时 何时 多少天 几个小时
价格=price: 多少钱 价钱 售价 费用
损坏=damage: 破损 坏了 碎了 摔坏 有问题
手机: 手机号 手机号码
`)

func setOf(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func runeSet(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// synonymMap parses "canonical[=token]: word word" lines into word → shared token,
// each word in the form the tokenizer produces (norm); the canonical word
// maps too, so both sides of a match carry the shared token.
func synonymMap(norm func(string) string, spec string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(spec, "\n") {
		head, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		// "退货=return: …": the Chinese group shares the English one's token.
		head, token, ok := strings.Cut(strings.TrimSpace(head), "=")
		if !ok {
			token = head
		}
		m[norm(head)] = "~" + token
		for _, w := range strings.Fields(rest) {
			m[norm(strings.ToLower(w))] = "~" + token
		}
	}
	return m
}

// simplified maps traditional characters to simplified ones: the
// characters that customer-service questions use, not a full table (a full
// one is 2,500 pairs; these cover the vocabulary of orders, payment,
// shipping, accounts and support).
var simplified = pairMap(`貨货運运費费訂订單单號号碼码買买賣卖價价錢钱帳账戶户時时間间點点發发換换還还請请問问麼么嗎吗們们這这個个會会員员優优網网頁页無无錄录設设語语聯联繫系係系電电話话郵邮營营業业門门開开關关國国際际應应對对實实體体經经過过為为與与從从來来給给讓让幫帮處处錯错誤误訊讯報报張张長长後后據据證证書书紙纸質质壞坏損损傷伤寶宝貝贝購购車车庫库倉仓區区縣县臺台灣湾護护險险條条規规則则說说詢询諮咨內内選选項项額额餘余儲储劵券動动專专產产類类種种樣样顏颜尺尺裝装飾饰計计總总數数級级積积兌兑禮礼贈赠順顺豐丰達达遞递幾几週周約约預预備备註注冊册驗验簡简轉转聽听見见視视覺觉認认識识讀读寫写標标準准確确務务補补償偿賠赔廠厂維维廣广東东鐘钟錶表機机腦脑線线連连結结複复復复雜杂難难麗丽團团隊队師师導导興兴歡欢謝谢觀观現现狀状態态筆笔記记氣气將将擊击戰战題题爲为僅仅獲获邊边遠远輸输紅红綠绿藍蓝黃黄舊旧新新門门鎖锁鑰钥匙匙郵邮寄寄億亿萬万元元圓圆幣币匯汇率率銀银貸贷卡卡簽签約约戲戏遊游聲声響响圖图標标麼么啟启動动關关閉闭閱阅讀读較较軟软體体硬硬盤盘碼码頭头腳脚髮发門门紀纪錄录訂订閱阅協协議议隱隐私私憑凭證证處处罰罚違违規规懷怀疑疑邊边緣缘`)

func pairMap(s string) map[rune]rune {
	rs := []rune(s)
	m := make(map[rune]rune, len(rs)/2)
	for i := 0; i+1 < len(rs); i += 2 {
		if rs[i] != rs[i+1] {
			m[rs[i]] = rs[i+1]
		}
	}
	return m
}
