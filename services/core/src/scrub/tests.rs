use super::*;
use proptest::prelude::*;

/// One text: the requester's recorded names and phones, what a handler
/// must read.
struct Case {
    text: &'static str,
    names: &'static [&'static str],
    phones: &'static [&'static str],
    want: &'static str,
}

const fn case(text: &'static str, names: &'static [&'static str], want: &'static str) -> Case {
    Case {
        text,
        names,
        phones: &[],
        want,
    }
}

const ZW: &[&str] = &["Zhang Wei"];
const ZW_CN: &[&str] = &["张伟"];
const NONE: &[&str] = &[];

const TABLE: &[Case] = &[
    // The finding measured from outside, and its Chinese twin.
    case(
        "my number is 13912345678, I am Zhang Wei",
        ZW,
        "my number is [phone], I am [name]",
    ),
    case(
        "我的电话是139-5550-1234，我叫张伟。",
        ZW_CN,
        "我的电话是[phone]，我叫[name]。",
    ),
    // Mobiles: prefixes, spacing, full-width forms.
    case("+86 139 5550 1234 请回电", NONE, "[phone] 请回电"),
    case("0086 139 5550 1234", NONE, "[phone]"),
    case("86-13912345678", NONE, "[phone]"),
    case("(+86) 139.1234.5678", NONE, "[phone]"),
    case(
        "手机１３９１２３４５６７８，谢谢",
        NONE,
        "手机[phone]，谢谢",
    ),
    case(
        "＋８６\u{3000}１３９\u{3000}１２３４\u{3000}５６７８",
        NONE,
        "[phone]",
    ),
    case("００８６－１３９－１２３４－５６７８", NONE, "[phone]"),
    case("外地拨打013912345678", NONE, "外地拨打[phone]"),
    case("13912345678 / 13812345678", NONE, "[phone] / [phone]"),
    case("2026.12.03 139 1234 5678", NONE, "2026.12.03 [phone]"),
    // Landlines, with area codes, parentheses and extensions.
    case("单位电话010-6512 3456转801", NONE, "单位电话[phone]"),
    case("(010)65123456 is the office", NONE, "[phone] is the office"),
    case(
        "深圳 0755 8888 8888 找李先生",
        NONE,
        "深圳 [phone] 找李先生",
    ),
    case("Office: +86 10 6512 3456 ext. 12", NONE, "Office: [phone]"),
    case(
        "Call me on 139 1234 5678 or 010-6512-3456 after 6pm",
        NONE,
        "Call me on [phone] or [phone] after 6pm",
    ),
    // A local number counts after a phone word only.
    case("座机 6512 3456，下午在家", NONE, "座机 [phone]，下午在家"),
    case("tel 8765 4321", NONE, "tel [phone]"),
    case("请联系我，2026-12-03之前", NONE, "请联系我，2026-12-03之前"),
    // Id numbers: valid ones only.
    case(
        "身份证号110105199003070017，已挂失",
        NONE,
        "身份证号[id-number]，已挂失",
    ),
    case(
        "ID 11010519491231002x please",
        NONE,
        "ID [id-number] please",
    ),
    case(
        "身份证１１０１０５１９９００３０７００１７",
        NONE,
        "身份证[id-number]",
    ),
    case("证件号 110105 19900307 0017", NONE, "证件号 [id-number]"),
    case(
        "订单号110105199003070018不是身份证",
        NONE,
        "订单号110105199003070018不是身份证",
    ),
    // E-mail addresses.
    case(
        "email me at zhang.wei+hl@example.com.cn.",
        NONE,
        "email me at [email].",
    ),
    case("邮箱ｚｈａｎｇｗｅｉ＠１６３．ｃｏｍ", NONE, "邮箱[email]"),
    case("QQ邮箱 13912345678@qq.com", NONE, "QQ邮箱 [email]"),
    // Names: any case, any spacing, either order; whole words.
    case(
        "ZHANG WEI called; zhangwei again; Zhang  Wei; Wei Zhang",
        ZW,
        "[name] called; [name] again; [name]; [name]",
    ),
    case(
        "Zhangwei's neighbour Zhangweiming",
        ZW,
        "[name]'s neighbour Zhangweiming",
    ),
    case(
        "Mr Zhang said the lamp on Wei Road is out",
        ZW,
        "Mr Zhang said the lamp on Wei Road is out",
    ),
    case(
        "我是张 伟，住12号楼3单元",
        ZW_CN,
        "我是[name]，住12号楼3单元",
    ),
    case("张伟13912345678", ZW_CN, "[name][phone]"),
    case(
        "我是迪丽热巴·迪力木拉提，也写作迪丽热巴迪力木拉提",
        &["迪丽热巴·迪力木拉提"],
        "我是[name]，也写作[name]",
    ),
    case("王府井大街的路灯坏了", &["王"], "王府井大街的路灯坏了"),
    // Everything at once.
    case(
        "张伟（身份证440304198511201235），手机 +86 139-5550-1234，邮箱 zw@qq.com",
        ZW_CN,
        "[name]（身份证[id-number]），手机 [phone]，邮箱 [email]",
    ),
    // Ordinary numbers stay.
    case(
        "2026-12-03 晚上8点，小区3000元维修基金，12号楼3单元",
        NONE,
        "2026-12-03 晚上8点，小区3000元维修基金，12号楼3单元",
    ),
    case(
        "see HL00000002 and HL00000013, postcode 100020",
        NONE,
        "see HL00000002 and HL00000013, postcode 100020",
    ),
    case(
        "快递单号 1371234567890 未送达，房间号 1391234",
        NONE,
        "快递单号 1371234567890 未送达，房间号 1391234",
    ),
    case(
        "fined 3,000 yuan on 2026/12/03, flat 1203, 9:30-11:00",
        NONE,
        "fined 3,000 yuan on 2026/12/03, flat 1203, 9:30-11:00",
    ),
    case(
        "退款13800.50元，Building 12, Unit 3, Room 1203, 100 meters",
        NONE,
        "退款13800.50元，Building 12, Unit 3, Room 1203, 100 meters",
    ),
    // The recorded phone, whatever its shape.
    Case {
        text: "reach me at 415-555-0100 or +1 (415) 555-0100",
        names: ZW,
        phones: &["+1 415 555 0100"],
        want: "reach me at [phone] or [phone]",
    },
];

fn scrubber(c: &Case) -> Scrubber {
    let s = c.names.iter().fold(Scrubber::default(), |s, n| s.name(n));
    c.phones.iter().fold(s, |s, p| s.number(p))
}

/// The ASCII digits of a text, full-width folded, separators dropped.
fn digits(text: &str) -> String {
    text.chars()
        .map(fold)
        .filter(char::is_ascii_digit)
        .collect()
}

#[test]
fn every_text_in_the_table_is_scrubbed_exactly() {
    assert!(TABLE.len() >= 30, "{} texts", TABLE.len());
    let misses: Vec<String> = TABLE
        .iter()
        .filter_map(|c| {
            let got = scrubber(c).scrub(c.text);
            (got != c.want).then(|| format!("{:?}\n   got {got:?}\n  want {:?}", c.text, c.want))
        })
        .collect();
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn no_secret_survives_in_the_table() {
    // Whatever the exact outputs say, no mobile, id number or recorded name
    // is left in any spacing.
    let secrets = [
        "13912345678",
        "13955501234",
        "13812345678",
        "110105199003070017",
        "440304198511201235",
        "65123456",
        "75588888888",
        "4155550100",
    ];
    for c in TABLE {
        let out = scrubber(c).scrub(c.text);
        let d = digits(&out);
        for s in secrets {
            assert!(!d.contains(s), "{s} survives in {out:?}");
        }
        for name in c.names.iter().filter(|n| n.chars().count() >= 2) {
            let squeezed = |t: &str| -> String {
                t.chars()
                    .filter(|c| c.is_alphanumeric() && !c.is_ascii_digit())
                    .collect::<String>()
                    .to_lowercase()
            };
            let name = squeezed(name);
            let out = squeezed(&out);
            let allowed = out.matches("zhangweiming").count();
            assert_eq!(
                out.matches(&name).count(),
                allowed,
                "{name} survives in {out:?}"
            );
        }
    }
}

#[test]
fn nothing_found_borrows_the_text() {
    let text = "路灯坏了三天";
    assert!(matches!(scrub(text, &["张伟"]), Cow::Borrowed(_)));
}

#[test]
fn findings_name_their_kind_and_bytes() {
    let text = "张伟: 13912345678";
    let found = Scrubber::default().name("张伟").findings(text);
    let kinds: Vec<(Kind, &str)> = found
        .iter()
        .map(|f| (f.kind, &text[f.range.clone()]))
        .collect();
    assert_eq!(
        kinds,
        vec![(Kind::Name, "张伟"), (Kind::Phone, "13912345678")]
    );
}

#[test]
fn id_numbers_are_checked() {
    assert!(is_id_number("11010519491231002X"));
    assert!(is_id_number("110105199003070017"));
    assert!(!is_id_number("110105199003070018"), "wrong check digit");
    assert!(!is_id_number("110105199013070014"), "month 13");
    assert!(!is_id_number("11010519900307001"), "17 digits");
}

/// A mobile number written any way a citizen might.
fn written_mobile() -> impl Strategy<Value = (String, String)> {
    let number = (3u8..=9, proptest::collection::vec(0u8..=9, 9)).prop_map(|(second, rest)| {
        let mut d = format!("1{second}");
        d.extend(rest.iter().map(|x| char::from(b'0' + x)));
        d
    });
    let prefix = prop::sample::select(vec![
        "",
        "+86 ",
        "+86",
        "0086-",
        "86",
        "＋８６ ",
        "(+86) ",
        "0",
    ]);
    let sep = prop::sample::select(vec!["", " ", "-", ".", "\u{3000}", " - ", "－"]);
    let before = prop::sample::select(vec!["我的手机是", "call me on ", "", "电话：", "I am at "]);
    let after = prop::sample::select(vec!["，谢谢", " thanks", "", "。", " (evenings)"]);
    (
        number,
        prefix,
        sep.clone(),
        sep,
        any::<bool>(),
        before,
        after,
    )
        .prop_map(|(d, prefix, s1, s2, wide, before, after)| {
            let digits: String = if wide {
                d.chars()
                    .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
                    .collect()
            } else {
                d.clone()
            };
            let chars: Vec<char> = digits.chars().collect();
            let head: String = chars[..3].iter().collect();
            let mid: String = chars[3..7].iter().collect();
            let tail: String = chars[7..].iter().collect();
            (
                format!("{before}{prefix}{head}{s1}{mid}{s2}{tail}{after}"),
                d,
            )
        })
}

/// A valid id number, with its check character.
fn id_number() -> impl Strategy<Value = String> {
    (
        100_000u32..=659_999,
        1900u32..=2025,
        1u32..=12,
        1u32..=28,
        0u32..=999,
    )
        .prop_map(|(area, year, month, day, seq)| {
            let body = format!("{area}{year}{month:02}{day:02}{seq:03}");
            let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
            let sum: u32 = body
                .bytes()
                .zip(weights)
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum();
            let check = b"10X98765432"[(sum % 11) as usize] as char;
            format!("{body}{check}")
        })
}

proptest! {
    #[test]
    fn a_mobile_in_any_spacing_is_scrubbed((text, number) in written_mobile()) {
        let out = scrub(&text, &[]);
        prop_assert!(!digits(&out).contains(&number), "{text:?} -> {out:?}");
        prop_assert!(out.contains("[phone]"), "{text:?} -> {out:?}");
    }

    #[test]
    fn a_valid_id_number_is_scrubbed(id in id_number(), wide in any::<bool>()) {
        let id = if wide {
            id.chars().map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c }).collect()
        } else {
            id
        };
        let text = format!("身份证号：{id}，请核实");
        let out = scrub(&text, &[]);
        prop_assert_eq!(out.as_ref(), "身份证号：[id-number]，请核实");
    }

    #[test]
    fn scrubbing_any_text_is_total_and_idempotent(text in "\\PC{0,80}") {
        let names = ["张伟", "Zhang Wei"];
        let once = scrub(&text, &names).into_owned();
        let twice = scrub(&once, &names).into_owned();
        prop_assert_eq!(once, twice);
    }
}
