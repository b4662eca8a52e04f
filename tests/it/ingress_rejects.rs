//! Every bad request gets its specific status, code, detail and counter, and
//! nothing is queued for it.

use so_testkit::metrics::value;
use so_testkit::{TestApp, TestAppOptions, Webhook};

struct Case {
    name: &'static str,
    webhook: Webhook,
    method: &'static str,
    status: u16,
    code: &'static str,
    detail: &'static str,
}

fn order() -> Webhook {
    Webhook::new(
        "orders/create",
        r#"{"id":820982911946154508,"email":"jon@example.com"}"#,
    )
}

fn case(
    name: &'static str,
    status: u16,
    code: &'static str,
    detail: &'static str,
    edit: impl FnOnce(&mut Webhook),
) -> Case {
    let mut webhook = order();
    edit(&mut webhook);
    Case {
        name,
        webhook,
        method: "POST",
        status,
        code,
        detail,
    }
}

fn cases() -> Vec<Case> {
    let mut all = vec![
        case(
            "no hmac",
            401,
            "missing_hmac",
            "HMAC header is missing",
            |w| w.omit.push("X-Shopify-Hmac-Sha256".into()),
        ),
        case(
            "hmac not base64",
            401,
            "malformed_hmac",
            "not base64",
            |w| w.signature = Some("%%%".into()),
        ),
        case("hmac truncated", 401, "malformed_hmac", "32-byte", |w| {
            w.signature = Some(so_shopify::sign("test-secret", &w.body)[..20].to_owned());
        }),
        case(
            "hmac of other body",
            401,
            "invalid_hmac",
            "does not match",
            |w| {
                w.signature = Some(so_shopify::sign("test-secret", b"{}"));
            },
        ),
        case(
            "hmac with wrong secret",
            401,
            "invalid_hmac",
            "does not match",
            |w| {
                w.signature = Some(so_shopify::sign("other-secret", &w.body));
            },
        ),
        case(
            "body changed after signing",
            401,
            "invalid_hmac",
            "does not match",
            |w| {
                w.signature = Some(so_shopify::sign("test-secret", &w.body));
                w.body = br#"{"id":820982911946154509,"email":"jon@example.com"}"#.to_vec();
            },
        ),
        case(
            "no shop domain",
            400,
            "missing_header",
            "X-Shopify-Shop-Domain is missing",
            |w| {
                w.omit.push("X-Shopify-Shop-Domain".into());
            },
        ),
        case(
            "shop domain not myshopify",
            400,
            "invalid_header",
            "X-Shopify-Shop-Domain",
            |w| w.shop = "evil.example.com".into(),
        ),
        case(
            "no topic",
            400,
            "missing_header",
            "X-Shopify-Topic is missing",
            |w| w.omit.push("X-Shopify-Topic".into()),
        ),
        case(
            "no api version",
            400,
            "missing_header",
            "X-Shopify-API-Version is missing",
            |w| {
                w.omit.push("X-Shopify-API-Version".into());
            },
        ),
        case(
            "no webhook id",
            400,
            "missing_header",
            "X-Shopify-Webhook-Id is missing",
            |w| {
                w.omit.push("X-Shopify-Webhook-Id".into());
            },
        ),
        case("empty body", 400, "empty_body", "empty", |w| {
            w.body = Vec::new()
        }),
        case(
            "json array body",
            400,
            "not_a_json_object",
            "JSON object",
            |w| w.body = b"[1,2,3]".to_vec(),
        ),
        case("invalid json", 400, "invalid_json", "not valid JSON", |w| {
            w.body = br#"{"id": 1,"#.to_vec()
        }),
        case(
            "invalid utf-8",
            400,
            "invalid_json",
            "not valid JSON",
            |w| w.body = b"{\"id\":1,\"n\":\"\xff\xfe\"}".to_vec(),
        ),
        case(
            "text/plain",
            415,
            "unsupported_media_type",
            "application/json",
            |w| w.content_type = "text/plain".into(),
        ),
        case("too large", 413, "payload_too_large", "12000 bytes", |w| {
            w.body = format!(r#"{{"id":1,"note":"{}"}}"#, "x".repeat(13000)).into_bytes();
        }),
        // Hostile bodies.
        case(
            "deeply nested json",
            400,
            "invalid_json",
            "nested deeper than 64",
            |w| {
                w.body = format!(r#"{{"id":1,"a":{}{}}}"#, "[".repeat(5000), "]".repeat(5000))
                    .into_bytes();
            },
        ),
        case(
            "byte order mark",
            400,
            "invalid_json",
            "byte order mark",
            |w| {
                w.body = b"\xEF\xBB\xBF{\"id\":1}".to_vec();
            },
        ),
        case(
            "utf-16 body",
            400,
            "not_a_json_object",
            "JSON object",
            |w| {
                w.body = b"\xff\xfe{\x00\"\x00i\x00d\x00\"\x00:\x001\x00}\x00".to_vec();
            },
        ),
        case("json null", 400, "not_a_json_object", "JSON object", |w| {
            w.body = b"null".to_vec();
        }),
        case(
            "number out of range",
            400,
            "invalid_json",
            "out of range",
            |w| {
                w.body = br#"{"id":1e400}"#.to_vec();
            },
        ),
        case(
            "trailing data",
            400,
            "invalid_json",
            "trailing characters",
            |w| {
                w.body = br#"{"id":1} {"id":2}"#.to_vec();
            },
        ),
        // Hostile headers.
        case(
            "gzip content-encoding",
            415,
            "unsupported_content_encoding",
            "Content-Encoding",
            |w| {
                w.extra_headers
                    .push(("Content-Encoding".into(), "gzip".into()));
            },
        ),
        case(
            "form content type",
            415,
            "unsupported_media_type",
            "application/json",
            |w| {
                w.content_type = "application/x-www-form-urlencoded".into();
            },
        ),
        case(
            "shop domain with port",
            400,
            "invalid_header",
            "X-Shopify-Shop-Domain",
            |w| {
                w.shop = "shop.myshopify.com:443".into();
            },
        ),
        case(
            "shop domain suffix attack",
            400,
            "invalid_header",
            "X-Shopify-Shop-Domain",
            |w| {
                w.shop = "shop.myshopify.com.evil.io".into();
            },
        ),
        case(
            "header section too large",
            431,
            "headers_too_large",
            "exceeds the limit of 32768 bytes",
            |w| {
                w.extra_headers
                    .push(("X-Padding".into(), "p".repeat(33 * 1024)));
            },
        ),
        case(
            "header section too large, unsigned",
            431,
            "headers_too_large",
            "header section",
            |w| {
                w.signature = Some("%%%".into());
                w.extra_headers
                    .push(("X-Padding".into(), "p".repeat(33 * 1024)));
            },
        ),
        case(
            "no api version, unsigned",
            401,
            "invalid_hmac",
            "does not match",
            |w| {
                w.omit.push("X-Shopify-API-Version".into());
                w.signature = Some(so_shopify::sign("other-secret", &w.body));
            },
        ),
        case(
            "orders without id, unsigned",
            401,
            "invalid_hmac",
            "does not match",
            |w| {
                w.body = br#"{"foo": "bar"}"#.to_vec();
                w.signature = Some(so_shopify::sign("other-secret", &w.body));
            },
        ),
        case("empty hmac", 401, "malformed_hmac", "32-byte", |w| {
            w.signature = Some(String::new());
        }),
        case("hex hmac", 401, "malformed_hmac", "32-byte", |w| {
            w.signature = Some("a".repeat(64));
        }),
    ];
    all.push(Case {
        method: "GET",
        ..case("GET", 405, "method_not_allowed", "POST", |_| {})
    });
    all.push(Case {
        method: "PUT",
        ..case("PUT", 405, "method_not_allowed", "POST", |_| {})
    });
    all
}

#[tokio::test]
async fn bad_requests_get_a_specific_status_code_detail_and_counter() {
    let opts = TestAppOptions {
        env: vec![("SO_INGRESS__MAX_BODY_BYTES".into(), "12000".into())],
        ..TestAppOptions::default()
    };
    let app = TestApp::spawn_with(opts).await;
    let all = cases();
    assert!(all.len() >= 30, "{} hostile cases", all.len());
    for c in all {
        let before = value(
            &app.metrics().await,
            "so_webhooks_rejected_total",
            &[("reason", c.code)],
        );
        let mut req = app
            .client
            .request(c.method.parse().unwrap(), app.webhook_url())
            .body(c.webhook.body.clone());
        for (k, v) in c.webhook.headers("test-secret") {
            req = req.header(k, v);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(status, c.status, "{}: {body}", c.name);
        assert_eq!(body["code"], c.code, "{}: {body}", c.name);
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(c.detail),
            "{}: detail {detail:?} lacks {:?}",
            c.name,
            c.detail
        );
        let after = value(
            &app.metrics().await,
            "so_webhooks_rejected_total",
            &[("reason", c.code)],
        );
        assert_eq!(
            after - before,
            1.0,
            "{}: counter so_webhooks_rejected_total{{reason={}}}",
            c.name,
            c.code
        );
    }
    assert!(
        app.take_queued().await.is_empty(),
        "nothing rejected was queued"
    );
    // A good request still works after all that.
    assert_eq!(app.send(&order()).await.status(), 200);
    assert_eq!(app.take_queued().await.len(), 1);
    app.teardown().await;
}

#[tokio::test]
async fn a_sender_slower_than_the_body_timeout_gets_408() {
    let opts = TestAppOptions {
        env: vec![("SO_INGRESS__BODY_TIMEOUT_MS".into(), "300".into())],
        ..TestAppOptions::default()
    };
    let app = TestApp::spawn_with(opts).await;
    let wh = order();
    // Announce a body, send only part of it, then stall (slow loris).
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut head = format!(
        "POST /webhooks/shopify HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        wh.body.len()
    );
    for (k, v) in wh.headers("test-secret") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n{\"id\":");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        response.extend_from_slice(&buf[..n]);
        if n == 0 || String::from_utf8_lossy(&response).contains("body_timeout") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("body_timeout"), "{text}");
    assert!(app.take_queued().await.is_empty());
    app.teardown().await;
}

#[tokio::test]
async fn an_oversized_header_section_gets_431_before_the_body_is_read() {
    let app = TestApp::spawn().await;
    let wh = order();
    // A body is announced but never sent: answering at all proves the
    // limit is checked before the body is read (reading it would wait for
    // the 10 s body timeout and answer 408).
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut head = format!(
        "POST /webhooks/shopify HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        wh.body.len()
    );
    for (k, v) in wh.headers("test-secret") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("X-Padding: {}\r\n\r\n", "p".repeat(33 * 1024)));
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        response.extend_from_slice(&buf[..n]);
        if n == 0 || String::from_utf8_lossy(&response).contains("}") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    assert!(text.contains("headers_too_large"), "{text}");
    assert!(app.take_queued().await.is_empty());
    app.teardown().await;
}

use tokio::io::{AsyncReadExt, AsyncWriteExt};
