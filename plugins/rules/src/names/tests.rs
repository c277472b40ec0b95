//! Unit tests of field-name reading and matching.

use super::*;

fn w(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn category_of(name: &str) -> Option<&'static str> {
    thread_local! {
        static SPECIAL: Vocabulary = Vocabulary::special_categories();
    }
    SPECIAL.with(|v| {
        v.find(name).map(|m| {
            SPECIAL_CATEGORIES
                .iter()
                .find(|(c, _)| *c == m.category)
                .unwrap()
                .0
        })
    })
}

/// Asserts the category `category_of` gives each name of `cases` (`None`: none).
#[track_caller]
fn assert_categories(cases: &[(&str, Option<&str>)]) {
    for &(name, category) in cases {
        assert_eq!(category_of(name), category, "{name:?}");
    }
}

/// Asserts the words `words` reads in each name of `cases`.
#[track_caller]
fn assert_words(cases: &[(&str, &[&str])]) {
    for &(name, expected) in cases {
        assert_eq!(words(name), expected, "{name:?}");
    }
}

/// Asserts what `compact` makes of each name of `cases`.
#[track_caller]
fn assert_compact(cases: &[(&str, &str)]) {
    for &(name, expected) in cases {
        assert_eq!(compact(name), expected, "{name:?}");
    }
}

// ---- words ----

#[test]
fn words_splits_on_underscores_hyphens_spaces_and_dots() {
    assert_words(&[
        ("ethnic_origin", &["ethnic", "origin"]),
        ("ethnic-origin", &["ethnic", "origin"]),
        ("ethnic origin", &["ethnic", "origin"]),
        ("ethnic.origin", &["ethnic", "origin"]),
        ("a_b-c d.e", &["a", "b", "c", "d", "e"]),
    ]);
}

#[test]
fn words_splits_camel_case_and_lowercases() {
    assert_words(&[
        ("sexualOrientation", &["sexual", "orientation"]),
        ("SexualOrientation", &["sexual", "orientation"]),
        ("leftOrganisationAt", &["left", "organisation", "at"]),
    ]);
}

#[test]
fn words_keeps_a_run_of_capitals_together_as_an_acronym() {
    assert_words(&[
        ("DNA_profile", &["dna", "profile"]),
        ("DNAProfile", &["dna", "profile"]),
        ("nhsNumber", &["nhs", "number"]),
        ("NHS_NUMBER", &["nhs", "number"]),
        ("userID", &["user", "id"]),
        ("HTTPServerURL", &["http", "server", "url"]),
    ]);
}

#[test]
fn words_separates_digits_from_letters() {
    assert_words(&[
        ("line1", &["line", "1"]),
        ("address2Line", &["address", "2", "line"]),
        ("v2profile", &["v", "2", "profile"]),
        ("cvv2", &["cvv", "2"]),
    ]);
}

#[test]
fn words_ignores_repeated_leading_and_trailing_separators() {
    assert_words(&[
        ("__health--notes__", &["health", "notes"]),
        ("  a  ", &["a"]),
        ("a/b:c(d)", &["a", "b", "c", "d"]),
    ]);
}

#[test]
fn a_name_without_letters_or_digits_has_no_words() {
    assert!(words("").is_empty());
    assert!(words("_-. ").is_empty());
}

#[test]
fn words_handles_non_ascii_letters() {
    // Accents are dropped and `ß` reads as `ss`.
    assert_words(&[
        ("Größe_Ärger", &["grosse", "arger"]),
        ("straßeName", &["strasse", "name"]),
        ("santé", &["sante"]),
        ("náboženství", &["nabozenstvi"]),
        ("niepełnosprawność", &["niepelnosprawnosc"]),
        ("日本語_name", &["日本語", "name"]),
    ]);
}

// ---- compact ----

#[test]
fn compact_lowercases_and_drops_everything_but_letters_and_digits() {
    assert_compact(&[
        ("card-Number", "cardnumber"),
        ("cardNumber", "cardnumber"),
        ("Card Number", "cardnumber"),
        ("card_number", "cardnumber"),
        ("CVV2", "cvv2"),
        ("~/_ .", ""),
        ("Größe", "größe"),
    ]);
}

// ---- contains_term ----

#[test]
fn a_term_matches_when_its_words_appear_contiguously() {
    let name = w(&["ethnic", "origin", "code"]);
    assert!(contains_term(&name, &w(&["ethnic", "origin"])));
    assert!(contains_term(&name, &w(&["origin", "code"])));
    assert!(contains_term(&name, &w(&["code"])));
    assert!(contains_term(&name, &name));
}

#[test]
fn a_term_does_not_match_words_out_of_order_or_apart() {
    let name = w(&["ethnic", "group", "origin"]);
    assert!(!contains_term(&name, &w(&["ethnic", "origin"])));
    assert!(!contains_term(&name, &w(&["origin", "ethnic"])));
    assert!(!contains_term(
        &name,
        &w(&["ethnic", "group", "origin", "x"])
    ));
}

#[test]
fn a_term_matches_whole_words_only() {
    assert!(!contains_term(&w(&["trace", "id"]), &w(&["race"])));
    assert!(!contains_term(&w(&["healthcheck"]), &w(&["health"])));
}

#[test]
fn an_empty_term_matches_nothing() {
    assert!(!contains_term(&w(&["a"]), &[]));
    assert!(!contains_term(&[], &[]));
}

// ---- The special-category vocabulary ----

#[test]
fn the_vocabulary_has_the_ten_categories_of_clause_2_4() {
    let names: Vec<&str> = SPECIAL_CATEGORIES.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        names,
        [
            "race or ethnicity",
            "religious or philosophical beliefs",
            "sex life",
            "sexual orientation",
            "political opinions",
            "trade union membership",
            "health",
            "genetic data",
            "biometric data",
            "criminal convictions and offences",
        ]
    );
    let vocabulary = Vocabulary::special_categories();
    assert!(vocabulary.categories().eq(names.iter().copied()));
}

#[test]
fn every_term_of_the_vocabulary_names_its_own_category() {
    let vocabulary = Vocabulary::special_categories();
    for (category, terms) in SPECIAL_CATEGORIES {
        assert!(!terms.is_empty(), "{category}");
        for term in *terms {
            assert!(!words(term).is_empty(), "{term:?} has no words");
            if *term == "disabled" {
                // Alone, a setting's flag; it names a disability in a longer name.
                assert_eq!(vocabulary.find(term), None);
                assert_eq!(category_of("disabled_parking"), Some(*category));
                continue;
            }
            assert_eq!(vocabulary.find(term).unwrap().category, *category, "{term}");
            let snake = term.replace(' ', "_");
            assert_eq!(category_of(&snake), Some(*category), "{snake}");
        }
    }
}

#[test]
fn ordinary_provu_field_names_are_not_special_categories() {
    let ordinary = [
        "name",
        "organisation",
        "relationship",
        "email",
        "phone",
        "job_title",
        "left_organisation_at",
        "direction",
        "party_number",
        "started_at",
        "recording_ref",
        "agent",
        "duration_seconds",
        "purpose",
        "transcript",
        "notes",
        "basis",
        "joined_at",
        "consent_evidence",
        "enquiry_at",
        "opted_out_at",
        "tracking",
        "opens",
        "last_opened",
        "unsubscribes",
        "address",
        "line1",
        "line2",
        "city",
        "postcode",
        "country",
        "courier",
        "order_ref",
        "company",
        "shipped_at",
        "mac",
        "vendor",
        "username",
        "sip_server",
        "display_name",
        "password",
        "sip_settings",
        "provisioned_at",
        "provisioning_host",
        "ip",
        "requested_at",
        "path",
        "status",
        "user_agent",
        "form",
        "fields",
        "share_with",
        "date_of_birth",
        "age",
    ];
    for name in ordinary {
        assert_eq!(category_of(name), None, "{name} matched");
    }
}

#[test]
fn party_alone_is_not_a_political_opinion() {
    assert_categories(&[
        ("party", None),
        ("partyNumber", None),
        ("third_party", None),
        ("party_affiliation", Some("political opinions")),
        ("partyMembership", Some("political opinions")),
    ]);
}

#[test]
fn special_category_field_names_are_recognised() {
    let cases = [
        ("ethnicity", "race or ethnicity"),
        ("ethnic_origin", "race or ethnicity"),
        ("Race", "race or ethnicity"),
        ("religion", "religious or philosophical beliefs"),
        ("religiousBeliefs", "religious or philosophical beliefs"),
        ("sexualOrientation", "sexual orientation"),
        ("sexuality", "sexual orientation"),
        ("sex_life", "sex life"),
        ("sexualHistory", "sex life"),
        ("trade_union", "trade union membership"),
        ("unionMember", "trade union membership"),
        ("health_notes", "health"),
        ("mentalHealth", "health"),
        ("medical_history", "health"),
        ("NHS-Number", "health"),
        ("bloodType", "health"),
        ("dna_profile", "genetic data"),
        ("DNA_profile", "genetic data"),
        ("genome_sequence", "genetic data"),
        ("fingerprint_hash", "biometric data"),
        ("irisScan", "biometric data"),
        ("face_template", "biometric data"),
        ("criminal_record", "criminal convictions and offences"),
        ("previousConvictions", "criminal convictions and offences"),
        ("political_party", "political opinions"),
        ("votingIntention", "political opinions"),
    ];
    for (name, category) in cases {
        assert_eq!(category_of(name), Some(category), "{name}");
    }
}

#[test]
fn a_name_written_without_separators_matches_a_whole_term() {
    assert_categories(&[
        ("sexualorientation", Some("sexual orientation")),
        ("TRADEUNION", Some("trade union membership")),
        ("bloodtype", Some("health")),
        ("patient_bloodtype", Some("health")),
        // A long term run together also names the start of a longer word.
        ("bloodtypecode", Some("health")),
        ("tradeunionid", Some("trade union membership")),
    ]);
}

#[test]
fn similar_looking_words_are_not_terms() {
    for name in [
        "trace_id",
        "healthcheck",
        "unionpay",
        "raceway",
        "faithful_copy",
        "dnary",
    ] {
        assert_eq!(category_of(name), None, "{name} matched");
    }
}

// ---- Vocabulary ----

#[test]
fn find_reports_the_category_and_the_term_as_given() {
    let v = Vocabulary::special_categories();
    assert_eq!(
        v.find("patient_blood_type"),
        Some(TermMatch {
            category: "health",
            term: "blood type"
        })
    );
}

#[test]
fn of_equally_long_terms_the_first_added_wins() {
    let mut v = Vocabulary::new();
    assert!(v.add("first", "health"));
    assert!(v.add("second", "sexual"));
    assert_eq!(v.find("sexual_health").unwrap().category, "first");
}

#[test]
fn adding_to_an_existing_category_extends_it() {
    let mut v = Vocabulary::special_categories();
    assert!(v.add("health", "sick note"));
    assert_eq!(v.find("sickNote").unwrap().category, "health");
    assert_eq!(v.categories().count(), SPECIAL_CATEGORIES.len());
    assert!(v.add("hobbies", "golf"));
    assert_eq!(v.categories().last(), Some("hobbies"));
    assert_eq!(v.find("golf_handicap").unwrap().term, "golf");
}

#[test]
fn terms_may_be_written_in_any_naming_style() {
    let mut v = Vocabulary::new();
    assert!(v.add("c", "shoeSize"));
    assert!(v.add("c", "hat-size"));
    assert_eq!(v.find("shoe_size").unwrap().term, "shoeSize");
    assert_eq!(v.find("HatSize").unwrap().term, "hat-size");
}

#[test]
fn a_term_without_words_is_not_added() {
    let mut v = Vocabulary::new();
    assert!(!v.add("c", ""));
    assert!(!v.add("c", " _ "));
    assert!(v.is_empty());
    assert_eq!(v.categories().count(), 0);
}

#[test]
fn an_empty_vocabulary_matches_nothing() {
    let v = Vocabulary::new();
    assert!(v.is_empty());
    assert_eq!(v.find("health"), None);
}

#[test]
fn a_name_without_words_matches_nothing() {
    let v = Vocabulary::special_categories();
    assert_eq!(v.find(""), None);
    assert_eq!(v.find("__"), None);
}

#[test]
fn the_term_ending_last_then_the_longest_wins() {
    let mut v = Vocabulary::new();
    assert!(v.add("short", "sexual"));
    assert!(v.add("long", "sexual orientation"));
    assert_eq!(v.find("sexualOrientation").unwrap().category, "long");
    assert_eq!(v.find("sexual_history").unwrap().category, "short");
    assert_categories(&[
        ("sexualOrientation", Some("sexual orientation")),
        ("sexual_health", Some("health")),
        ("patient_race", Some("race or ethnicity")),
        ("race_of_patient", Some("health")),
    ]);
}

// ---- Reading names the way they look ----

#[test]
fn look_alike_letters_read_as_the_latin_letters_they_imitate() {
    // Cyrillic е, о, а, р, с, і and Greek ο, ι, α, ν.
    assert_eq!(words("r\u{435}ligion"), ["religion"]);
    assert_eq!(
        words("\u{440}\u{430}ti\u{435}nt_n\u{43e}t\u{435}s"),
        ["patient", "notes"]
    );
    // TR39 reads Greek ε as ꞓ, not as e: it is kept.
    assert_words(&[
        ("r\u{3b5}ligion", &["r\u{3b5}ligion"]),
        ("h\u{3bf}spital", &["hospital"]),
        // Capitals keep their case for camelCase: Cyrillic Н, Е and Greek Α, Τ, Η.
        ("mental\u{41d}\u{415}ALTH", &["mental", "health"]),
        ("HE\u{391}L\u{3a4}\u{397}", &["health"]),
        // A capital that looks like `I` (Greek Ι) or `l` reads as `i`, or as `l` when that names
        // a term (see `find`).
        ("REL\u{399}GION", &["religion"]),
    ]);
    assert_eq!(category_of("HEA\u{399}TH"), Some("health"));
}

#[test]
fn full_width_and_compatibility_letters_read_as_ascii() {
    assert_words(&[
        ("ｈｅａｌｔｈ", &["health"]),
        ("ＨＩＶ＿ＳＴＡＴＵＳ", &["hiv", "status"]),
        ("\u{1d421}ealth", &["health"]),
        ("ⓗⓔⓐⓛⓣⓗ", &["health"]),
    ]);
}

#[test]
fn invisible_characters_do_not_separate_words() {
    for name in [
        "hea\u{ad}lth",
        "he\u{200b}alth",
        "h\u{200c}e\u{200d}alth",
        "heal\u{2060}th",
        "\u{feff}health",
        "health\u{200e}",
        "he\u{3164}alth",
        "he\u{301}alth",
    ] {
        assert_eq!(words(name), ["health"], "{name:?}");
        assert_eq!(category_of(name), Some("health"), "{name:?}");
    }
}

#[test]
fn digits_inside_a_word_read_as_the_letters_they_stand_for() {
    assert_words(&[
        ("rel1gion", &["religion"]),
        ("h3alth", &["health"]),
        ("r4ce", &["race"]),
        ("H34LTH_R3C0RD", &["health", "record"]),
        ("d1s4b1l1ty", &["disability"]),
        ("5ex_l1fe", &["5", "ex", "life"]),
    ]);
    // `1` is also tried as `l`.
    assert_eq!(category_of("hea1th"), Some("health"));
    assert_eq!(category_of("a1coho1ic"), Some("health"));
    // Other digits, and digits at the end of a word, stay digits.
    assert_words(&[
        ("address2line", &["address", "2", "line"]),
        ("line1", &["line", "1"]),
        ("ipv6", &["ipv", "6"]),
        ("sha256sum", &["sha", "256", "sum"]),
    ]);
}

// ---- Compounds, technical readings, ordinary words ----

#[test]
fn a_long_term_names_the_start_and_end_of_a_compound_word() {
    for (name, category) in [
        ("healthrecord", "health"),
        ("mentalhealth", "health"),
        ("MENTALHEALTH", "health"),
        ("physiotherapy", "health"),
        ("religions", "religious or philosophical beliefs"),
        ("interracial", "race or ethnicity"),
        ("criminalrecordcheck", "criminal convictions and offences"),
        ("gesundheitszustand", "health"),
    ] {
        assert_eq!(category_of(name), Some(category), "{name}");
    }
}

#[test]
fn a_short_term_names_a_compound_only_with_a_qualifier() {
    assert_categories(&[
        ("hivstatus", Some("health")),
        ("HIVstatus", Some("health")),
        ("dnaprofile", Some("genetic data")),
        ("sicknote", Some("health")),
        ("racecode", Some("race or ethnicity")),
    ]);
    for name in [
        "raceway",
        "gayle",
        "jewellery",
        "dnary",
        "sickle",
        "iriscope",
    ] {
        assert_eq!(category_of(name), None, "{name}");
    }
}

#[test]
fn a_term_of_several_words_does_not_name_the_end_of_a_word() {
    assert_categories(&[
        ("interfaceid", None),
        ("interface_id", None),
        ("surfaceId", None),
        ("faceId", Some("biometric data")),
    ]);
}

#[test]
fn technical_words_make_a_term_technical() {
    for name in [
        "health_check_url",
        "healthcheck",
        "healthCheck",
        "healthz",
        "service_health",
        "disk_health",
        "diskhealth",
        "healthcheckurl",
        "race_condition",
        "is_disabled",
        "disabled_at",
        "account_disabled",
        "dnd_disabled",
        "call_waiting_disabled",
        "KMSDisabledException",
        "disabledForeground",
        "JA3Fingerprint",
        "st_ino",
        "std_code",
        "stdcode",
        "cert_fingerprint",
        "tls_fingerprint_sha256",
        "genetic_algorithm",
        "fault_diagnosis",
        "golf_handicap",
        "good_faith",
        "tax_treatment",
        "retina_display",
        "sales_aids",
    ] {
        assert_eq!(category_of(name), None, "{name}");
    }
}

#[test]
fn other_terms_of_a_technical_name_still_count() {
    for (name, category) in [
        ("health_checkup", "health"),
        ("healthcare", "health"),
        ("health_status", "health"),
        ("service_health_diagnosis", "health"),
        ("disabled_parking", "health"),
        ("disabled_person", "health"),
        ("race", "race or ethnicity"),
        ("std_test", "health"),
        ("registered_disabled", "health"),
        ("learningDisabled", "health"),
        ("fingerprint", "biometric data"),
        ("fingerprint_hash", "biometric data"),
    ] {
        assert_eq!(category_of(name), Some(category), "{name}");
    }
}

#[test]
fn ordinary_words_are_not_read_as_compounds() {
    for name in [
        "hospitality",
        "faithful",
        "incidental_costs",
        "rabbitmq_url",
        "syndicated_feed",
        "genesis_block",
        "healthy",
        "traces",
        "histories",
        "surge_arrester",
        "chronicle",
    ] {
        assert_eq!(category_of(name), None, "{name}");
    }
    // A term that is a word of its own still counts.
    assert_eq!(category_of("hospitality_health"), Some("health"));
}

#[test]
fn added_terms_are_compounds_too() {
    let mut v = Vocabulary::new();
    assert!(v.add("hobbies", "golf"));
    assert!(v.add("hobbies", "fishing"));
    assert_eq!(v.find("golfclub"), None, "short term, no qualifier");
    assert_eq!(v.find("golfstatus").unwrap().term, "golf");
    assert_eq!(v.find("flyfishing").unwrap().term, "fishing");
    assert_eq!(v.find("fishingrod").unwrap().term, "fishing");
    assert_eq!(v.find("ｇｏｌｆ").unwrap().term, "golf");
}
