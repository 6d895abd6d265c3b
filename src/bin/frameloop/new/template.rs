//! The generated project's sources and README, from the templates in
//! `templates/`: one text per file, the message format filled in where the
//! templates say `%FORMAT%` (the builder call), `%FORMAT_DOC%` (what a
//! message is) and `%ANSWER%` (how the server answers a message), and the
//! package name at `%NAME%`. `%` marks, not braces: the Rust sources are
//! full of `{…}` format strings.

use frameloop::Format;

const SERVER_MAIN: &str = include_str!("../templates/server_main.rs.txt");
const CLIENT_MAIN: &str = include_str!("../templates/client_main.rs.txt");
const README: &str = include_str!("../templates/readme.md.txt");

/// What differs between the formats, in the words the templates need.
struct Words {
    /// The builder call that chooses the format, server and client alike.
    builder_call: &'static str,
    /// One sentence: what a message is.
    doc: &'static str,
    /// The server's answer to `msg` from `client`: an expression of type
    /// `Result<(), Error>`, indented for the body of `on_receive`.
    answer: &'static str,
}

fn words(format: Format) -> Words {
    match format {
        Format::Frames => Words {
            builder_call: ".frames()",
            doc: "Messages are length-prefixed frames: any bytes, never merged or split.",
            answer: "server.send(client, msg)",
        },
        Format::Lines => Words {
            builder_call: ".lines()",
            doc: "Messages are text lines: `nc 127.0.0.1 1996` can talk to the server too.",
            answer: "server.send(client, msg)",
        },
        Format::Packets => Words {
            builder_call: ".packets()",
            doc: "Messages are pyspeak's packets: an integer, a real number, a boolean and a text.",
            answer: "match msg.packet() {\n            \
                     // pyspeak's data[0], data[1], data[2] and data[3].\n            \
                     Some(p) => server.send_packet(client, p.integer, p.real, p.boolean, p.text),\n            \
                     None => server.send(client, msg),\n        \
                     }",
        },
        // `frameloop new` offers no raw project yet; the words keep every
        // format of the library renderable.
        Format::Raw => Words {
            builder_call: ".raw()",
            doc: "Messages are raw bytes in chunks as they arrive: a plain socket's `sendall` and `recv` talk to it.",
            answer: "server.send(client, msg)",
        },
    }
}

fn render(template: &str, name: &str, format: Format) -> String {
    let words = words(format);
    template
        .replace("%NAME%", name)
        .replace("%FORMAT%", words.builder_call)
        .replace("%FORMAT_DOC%", words.doc)
        .replace("%ANSWER%", words.answer)
}

/// `src/bin/server_main.rs`.
pub fn server_main(format: Format) -> String {
    render(SERVER_MAIN, "", format)
}

/// `src/bin/client_main.rs`.
pub fn client_main(format: Format) -> String {
    render(CLIENT_MAIN, "", format)
}

/// `README.md` of the package `name`.
pub fn readme(name: &str, format: Format) -> String {
    render(README, name, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMATS: [Format; 4] = [Format::Frames, Format::Lines, Format::Packets, Format::Raw];

    #[test]
    fn every_mark_is_filled_in_every_format() {
        for format in FORMATS {
            for text in [server_main(format), client_main(format), readme("app", format)] {
                assert!(!text.contains('%'), "a mark is left for {format:?}:\n{text}");
            }
        }
    }

    #[test]
    fn server_and_client_choose_the_same_format() {
        for format in FORMATS {
            let call = words(format).builder_call;
            assert!(server_main(format).contains(&format!("server{call}.start(MyServer)")), "{format:?}");
            assert!(client_main(format).contains(&format!("Client::builder(){call}")), "{format:?}");
        }
    }
}
