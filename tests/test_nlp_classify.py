"""Behaviour of bot.nlp.classify on messages written for these tests (not from the corpus)."""

from __future__ import annotations

import random
import threading
from dataclasses import FrozenInstanceError

import pytest

from bot.nlp import (
    CATEGORIES,
    HAZARDS,
    URGENCIES,
    Classification,
    Classifier,
    classify,
    load_lexicon,
    warm_up,
)
from bot.nlp.learned import features
from bot.nlp.normalize import normalize


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warm_up()


def check(text: str, category: str, urgency: str, hazard: str | None = None) -> Classification:
    result = classify(text)
    got = (result.category, result.urgency, result.hazard)
    assert got == (category, urgency, hazard), f"{text!r}: {got} {result.matched}"
    return result


def test_result_shape() -> None:
    result = classify("楼道里有很浓的煤气味")
    assert isinstance(result, Classification)
    assert result.category in CATEGORIES and result.urgency in URGENCIES
    assert result.hazard in HAZARDS
    assert 0.0 <= result.confidence <= 1.0
    assert isinstance(result.matched, tuple) and result.matched
    assert all(isinstance(word, str) for word in result.matched)
    with pytest.raises(FrozenInstanceError):
        result.category = "other"  # type: ignore[misc]


def test_codes_match_taxonomy() -> None:
    assert CATEGORIES == (
        "repair", "cleaning", "security", "parking", "billing",
        "complaint", "inquiry", "suggestion", "other",
    )  # fmt: skip
    assert URGENCIES == ("emergency", "high", "normal", "low")
    assert set(HAZARDS) == {
        "gas", "fire", "water", "electric", "lift", "medical", "crime", "structure",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("洗碗池的下水管堵住了", "repair", "normal"),
        ("门口垃圾桶已经满得盖不上了", "cleaning", "normal"),
        ("我的电动车电瓶被人偷了", "security", "normal"),
        ("我的车位又被一辆白车占了", "parking", "normal"),
        ("这个季度的物业费发票还没收到，麻烦开一下", "billing", "normal"),
        ("楼上天天晚上蹦迪，吵得没法睡，投诉多少次了", "complaint", "normal"),
        ("请问装修要提前多久申请？", "inquiry", "low"),
        ("建议在大门口加个雨棚", "suggestion", "low"),
        ("早上好呀", "other", "low"),
    ],
)
def test_every_category(text: str, category: str, urgency: str) -> None:
    check(text, category, urgency)


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hazard"),
    [
        ("五楼走廊好大一股煤气味", "repair", "emergency", "gas"),
        ("仓库那边着火了，烟好大", "security", "emergency", "fire"),
        ("洗衣机水管爆了，水哗哗往外喷", "repair", "emergency", "water"),
        ("配电箱在冒火花", "repair", "emergency", "electric"),
        ("电梯困人了，我妈在里面", "repair", "emergency", "lift"),
        ("有个大爷在花园晕倒了", "security", "emergency", "medical"),
        ("有人在楼下打架，还动了刀", "security", "emergency", "crime"),
        ("外墙的瓷砖掉下来砸到了车", "repair", "emergency", "structure"),
        ("家里突然没电了，全屋都黑了", "repair", "high", None),
        ("楼道里坐着个陌生人，一直在转来转去", "security", "high", None),
        ("客厅灯坏了一个", "repair", "normal", None),
        ("墙角有一点点掉漆，不着急", "repair", "low", None),
    ],
)
def test_every_urgency_and_hazard(text: str, category: str, urgency: str, hazard: str) -> None:
    check(text, category, urgency, hazard)


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("没有漏水了，师傅修好了", "repair", "low"),
        ("现在已经闻不到煤气味了", "repair", "low"),
        ("电梯已经修好了，不用派人了", "repair", "low"),
        ("昨天冒烟的事处理了吗", "inquiry", "low"),
        ("万一着火了怎么办", "inquiry", "low"),
        ("消防演习几点开始", "inquiry", "low"),
        ("如果电梯困人了要打哪个电话？", "inquiry", "low"),
    ],
)
def test_negated_finished_hypothetical_and_past(text: str, category: str, urgency: str) -> None:
    check(text, category, urgency)


def test_indirect_descriptions() -> None:
    check("楼道一股煤气味", "repair", "emergency", "gas")
    assert check("天花板一直在滴", "repair", "high").matched


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hazard"),
    [
        ("電梯困人了，快點來", "repair", "emergency", "lift"),
        ("樓道裡有煤氣味", "repair", "emergency", "gas"),
        ("物業費怎麼繳", "billing", "low", None),
        ("樓上裝修太吵了", "complaint", "normal", None),
    ],
)
def test_traditional_chinese(text: str, category: str, urgency: str, hazard: str | None) -> None:
    check(text, category, urgency, hazard)


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hazard"),
    [
        ("water leaking from ceiling", "repair", "high", None),
        ("Someone is stuck in the lift!", "repair", "emergency", "lift"),
        ("I can smell gas in the corridor", "repair", "emergency", "gas"),
        ("How do I pay the service fee?", "billing", "low", None),
        ("lift 坏了", "repair", "high", None),
        ("LIFT坏了 again", "repair", "high", None),
        ("The bins are overflowing", "cleaning", "normal", None),
    ],
)
def test_english_and_mixed(text: str, category: str, urgency: str, hazard: str | None) -> None:
    check(text, category, urgency, hazard)


@pytest.mark.parametrize(
    ("text", "hazard", "typo"),
    [
        ("厕所楼水了，滴到楼下了", None, "楼水≈漏水"),
        ("电题困人了", "lift", "电题"),
        ("家里好大一股枚气味", "gas", "枚气味≈煤气味"),
    ],
)
def test_homophone_typos(text: str, hazard: str | None, typo: str) -> None:
    result = classify(text)
    assert result.category == "repair"
    assert result.hazard == hazard
    assert any(typo in word for word in result.matched), result.matched


def test_real_words_are_not_typos() -> None:
    # 猫眼 (door viewer) sounds like 冒烟 (smoking) but is an ordinary word.
    assert classify("门上的猫眼坏了").urgency != "emergency"


def test_full_width_and_case() -> None:
    check("ＬＩＦＴ　坏了！！", "repair", "high")


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hazard"),
    [
        ("🔥🔥🔥 车库", "security", "emergency", "fire"),
        ("卫生间💧💧一直滴", "repair", "normal", None),
        ("电梯又坏了😡", "repair", "high", None),
    ],
)
def test_emoji_are_signals(text: str, category: str, urgency: str, hazard: str | None) -> None:
    check(text, category, urgency, hazard)


def test_emoji_only_and_angry_emoji_alone() -> None:
    assert classify("👍").category == "other"
    assert classify("😡😡").category == "other"


def test_complaint_over_domain_keeps_hazard() -> None:
    check("煤气味报了三次了还是没人来，你们到底管不管", "complaint", "emergency", "gas")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "\x00\x01\x02\ud800\udfff\ufffe",
        "🙂" * 50,
        "漏水" * 50_000,
        "".join(chr(random.Random(7).randrange(0x20, 0x2FFFF)) for _ in range(5_000)),
        bytes(range(256)).decode("latin-1"),
    ],
)
def test_never_raises(text: str) -> None:
    result = classify(text)
    assert result.category in CATEGORIES and result.urgency in URGENCIES


def test_empty_is_other() -> None:
    assert classify("") == Classification("other", "low", None, 0.0, ())


def test_huge_input_is_bounded() -> None:
    text = "a" * 100_000 + "着火了"
    result = classify(("楼道着火了" + "。" * 50) * 2_000)
    assert result.urgency == "emergency"
    assert classify(text).category in CATEGORIES


def test_non_str_input_does_not_raise() -> None:
    assert classify(None).category == "other"  # type: ignore[arg-type]


def test_low_confidence_is_other() -> None:
    result = classify("嗯嗯好的")
    assert result.category == "other" and result.confidence < 0.5


def test_thread_safety_smoke() -> None:
    texts = ["楼道着火了", "物业费怎么交", "電梯困人", "lift 坏了", "你好", "垃圾没人收"]
    expected = {text: classify(text) for text in texts}
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            text = rng.choice(texts)
            if classify(text) != expected[text]:
                errors.append(text)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hazard"),
    [
        # situations described by their parts rather than by a set phrase
        ("厨房那边味道很冲像煤气", "repair", "emergency", "gas"),
        ("水已经漫到客厅了", "repair", "emergency", "water"),
        ("插座冒火星", "repair", "emergency", "electric"),
        ("有人倒在楼梯口不动了", "security", "emergency", "medical"),
        ("电梯门开着就往上走", "repair", "emergency", "lift"),
        ("摸了一下门把手 手发麻", "repair", "emergency", "electric"),
        ("对面楼窗户里有火苗", "security", "emergency", "fire"),
        ("广告牌被风吹得快掉了", "repair", "emergency", "structure"),
        ("有个男的追着人打", "security", "emergency", "crime"),
        # look-alikes that are not emergencies
        ("烟感一直滴滴叫 是不是没电了", "repair", "normal", None),
        ("电梯停了 里面没人", "repair", "high", None),
        ("楼下烧烤烟很大", "complaint", "normal", None),
    ],
)
def test_situations_and_look_alikes(
    text: str, category: str, urgency: str, hazard: str | None
) -> None:
    check(text, category, urgency, hazard)


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hazard"),
    [
        # situation classes added in the v7 round (phrasings written for this test)
        ("锅里的油一下子着了", "security", "emergency", "fire"),
        ("院子的围墙倒了", "repair", "emergency", "structure"),
        ("两个邻居在电梯口扭打", "security", "emergency", "crime"),
        ("the lift doors won't open and we are inside", "repair", "emergency", "lift"),
        ("煤气管道被挖破了", "repair", "emergency", "gas"),
        ("车库进水了 水到膝盖", "repair", "emergency", "water"),
        ("配电房进水了", "repair", "emergency", "electric"),
        ("有人在拧我家的门锁", "security", "emergency", "crime"),
        # look-alikes that must not raise an alarm
        ("电梯停在二楼 没有人被困", "repair", "high", None),
        ("门上有撬痕 锁没坏", "security", "high", None),
        ("我家猫被困在树上了", "other", "low", None),
    ],
)
def test_situation_classes(text: str, category: str, urgency: str, hazard: str | None) -> None:
    check(text, category, urgency, hazard)


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hazard"),
    [
        # danger evidence (v8 round): a hazard object class plus any change or severity cue;
        # phrasings written for this test, not taken from any corpus
        ("煤气灶旋钮好像没拧紧 一直有股味", "repair", "emergency", "gas"),
        ("燃气表那边嘶嘶响", "repair", "emergency", "gas"),
        ("插线板烧化了", "repair", "emergency", "electric"),
        ("充电器插头冒蓝光 噼啪响", "repair", "emergency", "electric"),
        ("the power strip melted and smells of burning", "repair", "emergency", "electric"),
        ("水顺着楼梯往下流 像瀑布一样", "repair", "emergency", "water"),
        ("water pouring down the stairs", "repair", "emergency", "water"),
        ("被困在货梯里 出不来", "repair", "emergency", "lift"),
        ("the service lift is stuck with me inside", "repair", "emergency", "lift"),
        ("一个老人被电动车撞倒了", "security", "emergency", "medical"),
        ("雨棚塌下来了", "repair", "emergency", "structure"),
        ("the ceiling panel is hanging loose above the stairs", "repair", "emergency", "structure"),
        ("有人从楼上扔了个花盆下来", "security", "emergency", "structure"),
        ("有个男的在踹门 想进来", "security", "emergency", "crime"),
        ("昨天晚上电梯困人了 现在还困着", "repair", "emergency", "lift"),
        # look-alikes: only warm, gone, finished, supposed, habitual, property damage, past
        ("插座有点发烫", "repair", "normal", None),
        ("刚才灶台那有点煤气味 关了阀门 现在没味了", "repair", "low", None),
        ("楼道垃圾桶满得溢出来了", "cleaning", "normal", None),
        ("货梯坏了 里面没人", "repair", "high", None),  # out of service, nobody inside
        ("昨天车棚的顶塌了 已经修好了", "repair", "low", None),
        ("万一阳台栏杆掉下来怎么办", "inquiry", "low", None),
        ("楼上邻居天天往下扔烟头", "complaint", "normal", None),
        ("上周电梯困人的事 到现在都没人给个说法", "complaint", "normal", None),
    ],
)
def test_danger_evidence(text: str, category: str, urgency: str, hazard: str | None) -> None:
    check(text, category, urgency, hazard)


def test_danger_evidence_names_object_and_cue() -> None:
    result = classify("插线板烧化了")
    assert {"插线板", "烧化了"} <= set(result.matched)


@pytest.mark.parametrize(
    ("text", "category", "urgency", "hazard"),
    [
        # states and signs (v9 round): person states, gas escaping and its symptoms, smoke in a
        # place, people at edges, break-ins in progress, shut in anywhere, overhead parts
        # swaying, water finding electrics; phrasings written for this test, not from a corpus
        ("楼梯间全是烟 呛得睁不开眼", "security", "emergency", "fire"),
        ("走廊里有烟飘出来 不知道哪家", "security", "emergency", "fire"),
        ("用燃气热水器洗澡洗到一半头好晕 想吐", "repair", "emergency", "gas"),
        ("there's a strong smell near the boiler and I feel dizzy", "repair", "emergency", "gas"),
        ("煤气罐那里嘶嘶响 有股味", "repair", "emergency", "gas"),
        ("一个老太太在小区门口摔倒了 腿肿起来了 站不起来", "security", "emergency", "medical"),
        ("my dad fell in the bathroom and can't get up", "security", "emergency", "medical"),
        ("住在3楼的大爷脸色发紫 喘不上气", "security", "emergency", "medical"),
        ("有人坐在天台边上 腿悬在外面", "security", "emergency", "medical"),
        ("someone is standing on the roof edge of block 3", "security", "emergency", "medical"),
        ("孩子把自己反锁在房间里 出不来 一直哭", "security", "emergency", "medical"),
        ("隔壁独居老人好几天没见了 敲门没人应", "security", "emergency", "medical"),
        ("对面阳台有个小偷正在翻东西", "security", "emergency", "crime"),
        ("两个男的在停车场推推搡搡 一个被推倒了", "security", "emergency", "crime"),
        ("小区门口的广告牌在晃 感觉要倒了", "repair", "emergency", "structure"),
        ("空调外机摇摇晃晃的 就在人行道上方", "repair", "emergency", "structure"),
        ("水顺着墙往下流 流到插座里了", "repair", "emergency", "electric"),
        ("The lift doors opened between floors and it kept going", "repair", "emergency", "lift"),
        ("電梯壞咗,我哋三個人困喺入面", "repair", "emergency", "lift"),
        ("有個阿婆喺大堂暈低咗", "security", "emergency", "medical"),
        ("吊扇在晃 螺丝好像松了", "repair", "emergency", "structure"),
        ("外墙上有个工人 安全绳好像断了", "security", "emergency", "medical"),
        ("小孩的头卡在栏杆里出不来了", "security", "emergency", "medical"),
        (
            "a man is lying at the foot of the stairs, not moving",
            "security",
            "emergency",
            "medical",
        ),
        ("老人在楼道里坐着 脸色很差 说胸口闷", "security", "emergency", "medical"),
        # look-alikes: a dropped phone, a rescued toy, smokers, a worker on a roof, a resident
        # climbing into their own home, a pressure cooker, a drill, nobody inside (Cantonese)
        ("昨天楼道有烟 后来发现是有人烧纸", "security", "normal", None),
        ("電梯停咗,冇人喺入面", "repair", "high", None),
        ("if there's ever a gas leak who do I call?", "inquiry", "low", None),
        ("吊顶有点松 不着急", "repair", "low", None),
    ],
)
def test_states_and_signs(text: str, category: str, urgency: str, hazard: str | None) -> None:
    check(text, category, urgency, hazard)


def test_not_a_drill_is_no_drill() -> None:
    # 不是演习 must not read as a planned drill that turns the alarm into a question
    assert classify("整栋楼警报都在响 不是演习吧?").urgency == "emergency"
    assert classify("今天的警报是演习吗").urgency == "low"


def test_outrage_makes_a_live_emergency_a_complaint() -> None:
    result = classify("困在电梯里半小时了 打了两次电话都说马上到 人呢 什么破物业")
    assert (result.category, result.urgency, result.hazard) == ("complaint", "emergency", "lift")


def test_segmenter_equals_jieba() -> None:
    # bot.nlp.segment replaces tokenizer.lcut(text, HMM=False) for speed; tokens must not move.
    import json
    from pathlib import Path

    from bot.nlp import get_classifier
    from bot.nlp.normalize import normalize
    from bot.nlp.segment import Segmenter

    tokenizer = get_classifier()._tokenizer
    segmenter = Segmenter(tokenizer)
    data = Path(__file__).parent / "data"
    texts = [
        json.loads(line)["text"]
        for path in sorted(data.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    rnd = random.Random(7)
    junk = [
        "".join(chr(rnd.randint(0x20, 0x9FFF)) for _ in range(rnd.randint(0, 40)))
        for _ in range(500)
    ]
    samples = texts + [normalize(t) for t in texts] + junk + ["", " ", "e-bike 3栋 a1 \r\n x"]
    for text in samples:
        assert segmenter.cut(text) == tokenizer.lcut(text, HMM=False), text


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("插座松了 插头老掉", "repair", "normal"),
        ("阳台的晾衣架掉下来了", "repair", "normal"),
        ("楼道里总有烟味 肯定是有人抽烟", "complaint", "normal"),
        ("我忘带钥匙了 从阳台爬进去了 没事", "other", "low"),
        ("小孩骑自行车撞了我的车", "other", "low"),
        ("一个人在我家门口晃了半天 还拍了照", "security", "high"),
        ("手机摔了 屏幕不正常", "other", "low"),
        # Round 20: the model's category and urgency share the decision (RULE_SHARE 0.5,
        # URGENCY_MODEL): a neighbour's habit of throwing cigarette ends goes to cleaning, a
        # person on the roof drying quilts to security, a balcony door that will not lock is
        # normal (as the authors of desk v2 labelled one), a question about a hissing pressure
        # cooker to repair (low). None is an alarm (below).
        ("楼上总是往下扔烟头", "complaint", "normal"),
        ("高压锅一直呲呲喷气 正常吗", "other", "low"),
        ("有人站在天台上晒被子", "other", "low"),
        ("阳台推拉门的锁扣坏了 锁不住", "repair", "high"),  # a door that will not lock
    ],
)
def test_rule_guards_the_learned_layer_overrides(text: str, category: str, urgency: str) -> None:
    # The hand rules keep these look-alikes calm. The learned layer, set for recall, overrules
    # some of them (an alarm for the laundry rack and the loiterer who takes photos, a
    # security ticket for the balcony climber and the bicycle, repair for the phone): false
    # alarms accepted while missing an emergency is the worse error (README, classifier). The
    # rules must not lose them; which ones the model overrules moves with each retraining.
    rules = Classifier(load_lexicon(), models=False).classify(text)
    assert (rules.category, rules.urgency) == (category, urgency)


@pytest.mark.parametrize(
    "text",
    [
        "楼上总是往下扔烟头",
        "有人站在天台上晒被子",
        "阳台推拉门的锁扣坏了 锁不住",
        "高压锅一直呲呲喷气 正常吗",
    ],
)
def test_look_alikes_the_model_reclassifies_raise_no_alarm(text: str) -> None:
    assert classify(text).urgency != "emergency"


def test_span_finder_is_leftmost_longest_like_a_regex_trie() -> None:
    # SpanFinder replaces a greedy regex trie (homophone typos, time words glued to their
    # neighbours): on random keys and texts over a small alphabet, where overlaps abound, both
    # must choose the same spans.
    import re

    from bot.nlp.homophones import SpanFinder, trie_pattern

    rnd = random.Random(11)
    for _ in range(300):
        keys = {"".join(rnd.choice("abcd") for _ in range(rnd.randint(1, 5))): i for i in range(8)}
        finder, pattern = SpanFinder(keys), re.compile(trie_pattern(keys))
        for _ in range(30):
            text = "".join(rnd.choice("abcde") for _ in range(rnd.randint(0, 25)))
            expected = [(m.start(), m.end(), keys[m.group()]) for m in pattern.finditer(text)]
            assert finder.find(text) == expected, (keys, text)
    assert SpanFinder({}).find("abc") == []


@pytest.mark.parametrize(
    "text",
    [
        # praise of staff that names the hazard
        "上个月车库着火 保安大哥第一时间拿灭火器冲过去 必须表扬",
        # a drill announced in advance
        "下午两点消防演练 警报会响 大家别慌",
        # chatter: a figure of speech with laughter
        "热得我都要着火了 哈哈",
        "笑死 我弟被我爸困在书房里背单词",
        # a hazard denied by name
        "放心 不是煤气泄漏 是垃圾桶里的烂菜叶味道",
        # an old emergency whose complaint is about the missing answer
        "上周电梯关人的事 到现在还没给个说法",
        # a running toilet cistern and a flat tyre
        "马桶水箱一直在流水 停不下来",
        "电动车车胎没气了 哪里能打气",
        # the person already taken away by the ambulance
        "门口摔倒的阿姨已经被120拉走了",
        # an everyday word that sounds like an alarm word (看不懂 / 不动)
        "快递柜的操作老人看不懂 能不能贴个说明",
    ],
)
def test_calm_frames_raise_no_alarm(text: str) -> None:
    # Issue 15: these name a hazard that is not happening now. Rules alone and with the
    # learned layer both stay calm (the model defers to the calm frame).
    for clf in (Classifier(load_lexicon(), models=False), None):
        result = clf.classify(text) if clf is not None else classify(text)
        assert result.urgency != "emergency", (text, result)


@pytest.mark.parametrize(
    "text",
    [
        # a negated drill cue is no drill
        "群里没说是演练 楼道警报一直在响 还有烟味",
        # an explicit alarm word beats the drill frame
        "不是演练!!三楼真的着火了 快来",
        # the hazard after the "but" is live
        "刚才的火已经扑灭了 但是楼道里又冒出浓烟了",
    ],
)
def test_calm_frames_keep_live_emergencies(text: str) -> None:
    assert classify(text).urgency == "emergency", text


def test_emergency_over_but_broken_is_high() -> None:
    # "the person is out, but the lift is still stopped": the repair it left is high.
    result = check("刚才冒烟的那个电表箱已经不冒了 但是现在全家停电", "repair", "high")
    assert "但是" in result.matched


def test_a_mess_filed_with_cleaning_is_no_learned_alarm() -> None:
    # The model reads "someone" and "in the lift" as danger (p above its threshold here); a
    # mess the rules file with cleaning is not an emergency, so the model does not overrule it.
    # (Round 23's retrained model no longer reads 尿尿 so: the phrasing follows the model.)
    text = "有人在电梯里呕吐 地上一大滩"
    models = Classifier(load_lexicon()).models
    assert models is not None
    assert models.emergency.probabilities(features(normalize(text)))["yes"] >= models.threshold
    check(text, "cleaning", "normal")


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("有辆面包车停在我车后面 我的车开不出去", "parking"),  # a car shut in
        ("家里全屋跳闸 推上去又掉", "repair"),  # the whole home without power
        ("3号楼电梯停在12楼不动了 里面没人", "repair"),  # a lift stopped, nobody inside
    ],
)
def test_high_borderlines(text: str, category: str) -> None:
    # Issue 15: high, not normal, and no emergency (nobody is in danger).
    check(text, category, "high")


def test_english_function_words_take_no_room_in_a_window() -> None:
    # "the", "of", "are"... spread an English sentence over more tokens than the Chinese
    # one; a combination's window counts the other words only (round 20).
    rules = Classifier(load_lexicon(), models=False)
    text = "the solar panels on top of the bike shed next to block 5 are coming loose in this wind"
    result = rules.classify(text)
    assert (result.urgency, result.hazard) == ("emergency", "structure"), result.matched
    assert rules.classify("the solar panels next to block 5 are fine").urgency != "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "前台踢皮球 让我找工程部 工程部又让我找前台",
        "说好上周来换门禁卡 到现在没兑现",
        "the handyman was unprofessional and left a mess",
    ],
)
def test_blame_and_broken_promises_are_complaints(text: str) -> None:
    # Round 20: passing the buck, a promise not kept, unprofessional handling.
    rules = Classifier(load_lexicon(), models=False).classify(text)
    assert (rules.category, rules.urgency) == ("complaint", "normal")


def test_a_complaint_is_never_low() -> None:
    # The urgency model reads the front desk's ping-pong as a question (low); a complaint
    # gets a manager's look within the day (docs/taxonomy.md).
    result = check("前台踢皮球 让我找工程部 工程部又让我找前台", "complaint", "normal")
    assert result.hazard is None


@pytest.mark.parametrize(
    "text",
    [
        "冒烟那家的邻居说我家墙被熏黑了 想请人看看",
        "爆管之后地下室的墙皮一直在掉",
        "漏电那次以后客厅的插座都不能用了",
    ],
)
def test_an_alarm_word_naming_a_past_event_is_no_alarm(text: str) -> None:
    # Round 20: "冒烟那家", "爆管之后", "漏电那次": the hazard names an event that is over.
    rules = Classifier(load_lexicon(), models=False)
    assert rules.classify(text).urgency != "emergency"
    assert classify(text).urgency != "emergency"


@pytest.mark.parametrize("text", ["着火了 那边有人被困", "火灾后又冒烟了 快来"])
def test_a_live_alarm_beside_a_reference_still_alarms(text: str) -> None:
    assert classify(text).urgency == "emergency"


@pytest.mark.parametrize(
    ("text", "alarm"),
    [
        # Round 20: a gas alarm is an emergency when it sounds, not when it is named.
        ("燃气报警器需要自己装吗", False),
        ("燃气报警器要多久检查一次", False),
        ("燃气报警器在闪", True),
        ("厨房的燃气报警器突然响个不停", True),
        ("the gas detector is beeping", True),
    ],
)
def test_a_gas_alarm_named_is_not_a_gas_alarm_sounding(text: str, alarm: bool) -> None:
    rules = Classifier(load_lexicon(), models=False)
    assert (rules.classify(text).urgency == "emergency") is alarm
    assert (classify(text).urgency == "emergency") is alarm


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        # Round 20: an inquiry asking for something to be done is normal, a question low.
        ("请帮我预约周三下午的装修验收", "normal"),
        ("麻烦帮我登记一下 周六有家具送货", "normal"),
        ("装修验收要预约吗", "low"),
    ],
)
def test_an_inquiry_that_asks_for_something_done_is_normal(text: str, urgency: str) -> None:
    rules = Classifier(load_lexicon(), models=False).classify(text)
    assert (rules.category, rules.urgency) == ("inquiry", urgency)


@pytest.mark.parametrize(
    ("text", "typo"),
    [
        # Round 20: a span bound to its neighbours is no typo.
        ("我家车位被同一个人占了三天", False),  # 同一, not 被捅
        ("师傅约好3点到5点来修空调", False),  # 3点到, not 电到
        ("楼上楼水了 滴到我家", True),  # 楼水 for 漏水 still
        ("3楼冒眼了", True),
    ],
)
def test_a_span_bound_to_its_neighbours_is_no_typo(text: str, typo: bool) -> None:
    result = Classifier(load_lexicon(), models=False).classify(text)
    assert any("≈" in word for word in result.matched) is typo, result.matched
    assert (result.urgency == "emergency") is (text == "3楼冒眼了")


@pytest.mark.parametrize("text", ["今天被老板骂了 心里冒火", "嗓子冒烟了 说了一天话"])
def test_a_hazard_word_after_a_body_or_the_mind_is_a_figure_of_speech(text: str) -> None:
    # Round 20: "心里冒火", "嗓子冒烟" name no hazard, for the rules and the model.
    assert Classifier(load_lexicon(), models=False).classify(text).urgency != "emergency"
    assert classify(text).urgency != "emergency"


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        # Round 20, rules: an entrance that will not shut, a basic service lost where someone
        # vulnerable lives, the only toilet, a fallen tree across a road are high; an inner
        # door, a branch on the grass and a bathroom light are not.
        ("楼道的单元门关不上 一直开着", "repair", "high"),
        ("热水器坏了三天 家里有个刚满月的宝宝", "repair", "high"),
        ("全家就一个厕所 马桶堵死了 用不了", "repair", "high"),
        ("台风把一棵大树吹倒了 横在小区主路上 车进不来", "cleaning", "high"),
        ("no water at all in the whole unit since this morning", "repair", "high"),
        ("卫生间的门关不上", "repair", "normal"),
        ("树枝断了 掉在草地上", "cleaning", "normal"),
        ("只有一个卫生间 灯坏了", "repair", "normal"),
    ],
)
def test_round_20_high_rules(text: str, category: str, urgency: str) -> None:
    result = Classifier(load_lexicon(), models=False).classify(text)
    assert (result.category, result.urgency) == (category, urgency), result.matched


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        # Round 23 (tests/data/README.md, 23): chatter, thanks and follow-ups.
        ("周末有人一起去爬山吗", "other", "low"),  # a chatter question, no inquiry
        ("多谢 大家辛苦了", "other", "low"),  # thanks alone
        ("感谢保洁阿姨每天把大堂擦得很干净", "suggestion", "low"),  # praise naming the staff
        ("加班加到头要炸了 救命", "other", "low"),  # a figure of speech, no alarm
        ("前几天报的空调漏水 现在派师傅了吗", "inquiry", "low"),  # status of a report
        ("我的工单到哪一步了", "inquiry", "low"),
        ("上个月报的灯到现在还没人修 太慢了", "complaint", "normal"),  # still a complaint
        ("能不能安排人来修剪一下门口的树", "cleaning", "normal"),  # the team's own request
    ],
)
def test_round_23_chatter_thanks_and_follow_ups(text: str, category: str, urgency: str) -> None:
    check(text, category, urgency)
