//! Whatever a repository (or something pretending to be one) sends, reading never panics.

use proptest::prelude::*;

const PAGE: &str = include_str!("page.xml");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = oai::parse_list_records(&bytes);
        let _ = oai::parse_identify(&bytes);
    }

    #[test]
    fn a_real_page_cut_or_damaged_anywhere(cut in 0..PAGE.len(), at in 0..PAGE.len(), byte in any::<u8>()) {
        let mut page = PAGE.as_bytes().to_vec();
        page[at] = byte;
        let _ = oai::parse_list_records(&page);
        let _ = oai::parse_list_records(&PAGE.as_bytes()[..cut]);
    }
}

#[test]
fn the_page_itself_reads() {
    let page = oai::parse_list_records(PAGE.as_bytes()).unwrap();
    assert_eq!(page.records.len(), 2);
    assert!(page.records.iter().all(Result::is_ok));
}
