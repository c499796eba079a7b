//! Printable A4 channel posters: a PDF with real text (the library's name, the caption, the
//! channel's name, so the text is searchable and prints sharply) in an embedded CJK TrueType
//! font, and the QR code drawn as vector squares. Hand-written PDF: one page, a Type0 font
//! with Identity-H encoding (glyph ids from the font's own `cmap`), widths from `hmtx` and a
//! ToUnicode map so copy and `pdftotext` give the Chinese back. The PNG is the PDF rendered
//! by poppler's `pdftoppm` when it is installed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::ReachError;

/// The parts of a TrueType font a PDF needs.
struct Font {
    data: Vec<u8>,
    units_per_em: u16,
    advances: Vec<u16>,
    cmap: BTreeMap<u32, u16>,
    bbox: [i16; 4],
    ascent: i16,
    descent: i16,
}

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(o)?, *d.get(o + 1)?]))
}
fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_be_bytes([*d.get(o)?, *d.get(o + 1)?, *d.get(o + 2)?, *d.get(o + 3)?]))
}

impl Font {
    fn parse(data: Vec<u8>) -> Option<Font> {
        let d = &data;
        if u32_at(d, 0)? != 0x0001_0000 {
            return None; // not a plain TrueType file (a .ttc collection or CFF)
        }
        let n = u16_at(d, 4)? as usize;
        let mut tables = BTreeMap::new();
        for i in 0..n {
            let r = 12 + 16 * i;
            tables.insert(d.get(r..r + 4)?.to_vec(), u32_at(d, r + 8)? as usize);
        }
        let t = |tag: &[u8]| tables.get(tag).copied();
        let head = t(b"head")?;
        let units_per_em = u16_at(d, head + 18)?;
        let bb = |o| u16_at(d, head + o).map(|v| v as i16);
        let bbox = [bb(36)?, bb(38)?, bb(40)?, bb(42)?];
        let hhea = t(b"hhea")?;
        let ascent = u16_at(d, hhea + 4)? as i16;
        let descent = u16_at(d, hhea + 6)? as i16;
        let metrics = u16_at(d, hhea + 34)? as usize;
        let hmtx = t(b"hmtx")?;
        let advances = (0..metrics).map(|g| u16_at(d, hmtx + 4 * g)).collect::<Option<Vec<_>>>()?;
        let cmap_at = t(b"cmap")?;
        let mut cmap = BTreeMap::new();
        let subtables = u16_at(d, cmap_at + 2)? as usize;
        for i in 0..subtables {
            let r = cmap_at + 4 + 8 * i;
            let (platform, encoding) = (u16_at(d, r)?, u16_at(d, r + 2)?);
            let st = cmap_at + u32_at(d, r + 4)? as usize;
            if platform == 3 && encoding == 1 && u16_at(d, st)? == 4 {
                let segs = u16_at(d, st + 6)? as usize / 2;
                let ends = st + 14;
                let starts = ends + 2 * segs + 2;
                let deltas = starts + 2 * segs;
                let offsets = deltas + 2 * segs;
                for s in 0..segs {
                    let (end, start) = (u16_at(d, ends + 2 * s)? as u32, u16_at(d, starts + 2 * s)? as u32);
                    let delta = u16_at(d, deltas + 2 * s)?;
                    let ro = u16_at(d, offsets + 2 * s)? as usize;
                    if start > end || end == 0xFFFF && start == 0xFFFF {
                        continue;
                    }
                    for c in start..=end {
                        let g = if ro == 0 {
                            (c as u16).wrapping_add(delta)
                        } else {
                            let at = offsets + 2 * s + ro + 2 * (c - start) as usize;
                            match u16_at(d, at)? {
                                0 => 0,
                                g => g.wrapping_add(delta),
                            }
                        };
                        if g != 0 {
                            cmap.insert(c, g);
                        }
                    }
                }
            }
        }
        if cmap.is_empty() {
            return None;
        }
        Some(Font { data, units_per_em, advances, cmap, bbox, ascent, descent })
    }

    fn glyph(&self, c: char) -> u16 {
        self.cmap.get(&(c as u32)).copied().unwrap_or(0)
    }

    /// Advance in 1/1000 em.
    fn width(&self, g: u16) -> u32 {
        let a = self.advances.get(g as usize).or(self.advances.last()).copied().unwrap_or(0) as u32;
        a * 1000 / self.units_per_em.max(1) as u32
    }

    fn scale(&self, v: i16) -> i32 {
        v as i32 * 1000 / self.units_per_em.max(1) as i32
    }
}

/// A line of text on the poster: content, size in points, baseline from the bottom.
struct Line<'a> {
    text: &'a str,
    size: f32,
    y: f32,
}

const A4_W: f32 = 595.0;
const A4_H: f32 = 842.0;

/// The poster as a PDF: the library's name on top, the QR code of `qr_url` in the middle, the
/// caption under it and the channel's name at the foot. `font_paths`: the CJK font first, then
/// fallbacks for what it lacks (CJK fallback fonts often have no Latin letters); a character
/// takes the first font that has it.
pub fn poster_pdf(font_paths: &[&str], library: &str, caption: &str, channel: &str, qr_url: &str) -> Result<Vec<u8>, ReachError> {
    let mut fonts = Vec::new();
    for (i, path) in font_paths.iter().enumerate().filter(|(_, p)| !p.trim().is_empty()) {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            // Only the first (CJK) font is required; a missing fallback is skipped.
            Err(_) if i > 0 => continue,
            Err(e) => return Err(ReachError::Poster(format!("cannot read the poster font {path}: {e}"))),
        };
        fonts.push(Font::parse(data).ok_or_else(|| {
            ReachError::Poster(format!("{path} is not a TrueType font with a Unicode cmap (a .ttc collection will not do)"))
        })?);
    }
    if fonts.is_empty() {
        return Err(ReachError::Poster("no poster font configured".into()));
    }
    let qr = qrcode::QrCode::new(qr_url.as_bytes()).map_err(|e| ReachError::Poster(format!("QR code: {e}")))?;
    let caption = if caption.trim().is_empty() { "微信扫一扫，关注图书馆" } else { caption };
    let lines = [
        Line { text: library, size: 34.0, y: 730.0 },
        Line { text: caption, size: 24.0, y: 235.0 },
        Line { text: "微信扫一扫 · Scan with WeChat", size: 14.0, y: 200.0 },
        Line { text: channel, size: 11.0, y: 60.0 },
    ];
    let mut content = String::new();
    // Per font: glyph id → the character it shows (for ToUnicode).
    let mut used: Vec<BTreeMap<u16, char>> = vec![BTreeMap::new(); fonts.len()];
    for l in &lines {
        // (font, glyph) per character: the first font with the glyph, else the first font's .notdef.
        let glyphs: Vec<(usize, u16)> = l
            .text
            .chars()
            .map(|c| {
                let (f, g) = fonts.iter().enumerate().find_map(|(i, f)| Some((i, f.glyph(c))).filter(|(_, g)| *g != 0)).unwrap_or((0, 0));
                used[f].entry(g).or_insert(c);
                (f, g)
            })
            .collect();
        let w: u32 = glyphs.iter().map(|(f, g)| fonts[*f].width(*g)).sum();
        let x = (A4_W - w as f32 * l.size / 1000.0) / 2.0;
        let _ = write!(content, "BT {:.2} {:.2} Td ", x, l.y);
        // One Tj per run of the same font.
        let mut i = 0;
        while i < glyphs.len() {
            let f = glyphs[i].0;
            let run: Vec<u16> = glyphs[i..].iter().take_while(|(g_f, _)| *g_f == f).map(|(_, g)| *g).collect();
            let hex: String = run.iter().map(|g| format!("{g:04X}")).collect();
            let _ = write!(content, "/F{} {:.1} Tf <{hex}> Tj ", f + 1, l.size);
            i += run.len();
        }
        content.push_str("ET\n");
    }
    // The QR code: 4 modules of quiet zone, centred, 340 pt wide, above the caption.
    let n = qr.width();
    let colors = qr.to_colors();
    let side = 340.0;
    let module = side / (n + 8) as f32;
    let (left, top) = ((A4_W - side) / 2.0 + 4.0 * module, 280.0 + side - 4.0 * module);
    content.push_str("0 0 0 rg\n");
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = ((i % n) as f32, (i / n) as f32);
            let _ =
                writeln!(content, "{:.3} {:.3} {:.3} {:.3} re", left + x * module, top - (y + 1.0) * module, module + 0.01, module + 0.01);
        }
    }
    content.push_str("f\n");

    // Objects: 1 catalog, 2 pages, 3 page, 4 content, then 5 per font.
    let font_obj = |f: usize, k: usize| 5 + 5 * f + k;
    let font_refs: String = (0..fonts.len()).map(|f| format!("/F{} {} 0 R ", f + 1, font_obj(f, 0))).collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {A4_W} {A4_H}] /Resources << /Font << {font_refs}>> >> /Contents 4 0 R >>")
            .into_bytes(),
        stream("", content.as_bytes()),
    ];
    for (f, font) in fonts.iter().enumerate() {
        let name = format!("PosterFont{}", f + 1);
        let widths: String = used[f].keys().map(|g| format!("{g} [{}] ", font.width(*g))).collect();
        let b = font.bbox.map(|v| font.scale(v));
        objects.push(
            format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>",
                font_obj(f, 1),
                font_obj(f, 4)
            )
            .into_bytes(),
        );
        objects.push(format!("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {} 0 R /CIDToGIDMap /Identity /DW 1000 /W [{widths}] >>", font_obj(f, 2)).into_bytes());
        objects.push(
            format!(
                "<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 {} 0 R >>",
                b[0], b[1], b[2], b[3], font.scale(font.ascent), font.scale(font.descent), font.scale(font.ascent), font_obj(f, 3)
            )
            .into_bytes(),
        );
        objects.push(stream(&format!("/Length1 {}", font.data.len()), &font.data));
        objects.push(stream("", to_unicode(&used[f]).as_bytes()));
    }
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(o);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        let _ = writeln!(tail, "{o:010} 00000 n ");
    }
    let _ = write!(tail, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1);
    pdf.extend_from_slice(tail.as_bytes());
    Ok(pdf)
}

/// The ToUnicode CMap that maps the glyph ids back to text (copying, searching, `pdftotext`).
fn to_unicode(used: &BTreeMap<u16, char>) -> String {
    let mut out = String::from(
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def 1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
    );
    let pairs: Vec<_> = used.iter().filter(|(g, _)| **g != 0).collect();
    for chunk in pairs.chunks(100) {
        let _ = writeln!(out, "{} beginbfchar", chunk.len());
        for (g, c) in chunk {
            let mut units = [0u16; 2];
            let hex: String = c.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect();
            let _ = writeln!(out, "<{g:04X}> <{hex}>");
        }
        out.push_str("endbfchar\n");
    }
    out.push_str("endcmap CMapName currentdict /CMap defineresource pop end end");
    out
}

fn stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< /Length {} {extra} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

/// The poster as a PNG (150 dpi), rendered from the PDF by `pdftoppm` (poppler-utils).
pub async fn poster_png(pdf: Vec<u8>) -> Result<Vec<u8>, ReachError> {
    let dir = std::env::temp_dir().join(format!("wxlib-poster-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).map_err(ReachError::PosterFile)?;
    let input = dir.join("poster.pdf");
    std::fs::write(&input, pdf).map_err(ReachError::PosterFile)?;
    let out = tokio::process::Command::new("pdftoppm")
        .arg("-png")
        .arg("-r")
        .arg("150")
        .arg("-singlefile")
        .arg(&input)
        .arg(dir.join("poster"))
        .output()
        .await;
    let result = match out {
        Ok(o) if o.status.success() => std::fs::read(dir.join("poster.png")).map_err(ReachError::PosterFile),
        Ok(o) => Err(ReachError::Poster(format!("pdftoppm failed: {}", String::from_utf8_lossy(&o.stderr)))),
        Err(e) => Err(ReachError::Poster(format!("PNG posters need pdftoppm (poppler-utils): {e}"))),
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}
