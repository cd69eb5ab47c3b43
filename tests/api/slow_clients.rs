//! Slow-loris (issue 11, item 7; contract §4): connections that never finish a request head are
//! closed, silent connections cannot stop `/status` from answering, and at the connection limit new
//! connections are refused at once rather than left hanging.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TIMEOUT, TestApp, socket::RawSocket};

/// A connection that has sent `bytes` and then nothing more.
async fn silent(app: &TestApp, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", app.port())).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Waits (bounded) until the server closes `stream`, reading and dropping whatever it sends; how
/// long that took.
async fn closed_by_server(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        let read = tokio::time::timeout(TIMEOUT, stream.read(&mut buf))
            .await
            .expect("the server closes the connection within the timeout");
        match read {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

const PARTIAL_HEAD: &[u8] = b"GET /status HTTP/1.1\r\nHost: localhost\r\n";

#[tokio::test]
async fn a_connection_that_stops_in_the_middle_of_its_request_head_is_closed() {
    let app = TestApp::spawn_with(&[("HTTP_HEADER_TIMEOUT", "1s")]).await;
    let mut stream = silent(&app, PARTIAL_HEAD).await;
    let took = closed_by_server(&mut stream).await;
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Trickling a byte now and then does not keep a head open past the limit either.
    let mut stream = silent(&app, b"GET /status HTTP/1.1\r\n").await;
    let started = Instant::now();
    let closed = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if stream.write_all(b"X").await.is_err() || started.elapsed() > TIMEOUT {
            break started.elapsed();
        }
        let mut buf = [0u8; 64];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
        {
            break started.elapsed();
        }
    };
    assert!(closed < Duration::from_secs(5), "trickled for {closed:?}");

    // Nor does a complete first request buy time for a second, partial one.
    let mut stream = silent(&app, b"GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(TIMEOUT, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    stream.write_all(PARTIAL_HEAD).await.unwrap();
    let took = closed_by_server(&mut stream).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn status_answers_while_hundreds_of_silent_connections_are_open_and_they_are_closed() {
    let app = TestApp::spawn_with(&[("HTTP_HEADER_TIMEOUT", "2s")]).await;
    let mut streams = Vec::new();
    for _ in 0..300 {
        streams.push(silent(&app, PARTIAL_HEAD).await);
    }
    let status = tokio::time::timeout(TIMEOUT, app.get("/status"))
        .await
        .expect("/status answers in time");
    assert_eq!(status.status(), 200);
    for stream in &mut streams {
        closed_by_server(stream).await;
    }
}

#[tokio::test]
async fn at_the_connection_limit_new_connections_are_refused_at_once_not_left_hanging() {
    let app = TestApp::spawn_with(&[
        ("HTTP_HEADER_TIMEOUT", "2s"),
        ("HTTP_MAX_CONNECTIONS", "20"),
    ])
    .await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        streams.push(silent(&app, PARTIAL_HEAD).await);
    }
    let refused = tokio::time::timeout(
        Duration::from_secs(2),
        reqwest::Client::new()
            .get(format!("{}/status", app.address))
            .send(),
    )
    .await
    .expect("refused at once, not left hanging");
    assert!(refused.is_err(), "over the limit: {refused:?}");
    // Once the silent ones are closed, the server answers again.
    for stream in &mut streams {
        closed_by_server(stream).await;
    }
    let status = tokio::time::timeout(TIMEOUT, app.get("/status"))
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
}

#[tokio::test]
async fn an_upgraded_websocket_outlives_the_request_head_limit() {
    let app = TestApp::spawn_with(&[("HTTP_HEADER_TIMEOUT", "1s")]).await;
    let token = app.bearer_for("lingerer").await;
    let mut socket = RawSocket::authenticated(&app, &token).await;
    // Not waiting for a state: letting the head limit pass while the socket is quiet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    socket.emit("update_status", vec!["bogus".into()]).await;
    let (args, _) = socket.next_event("error").await;
    assert_eq!(args[0]["code"], "INVALID_STATUS");
}
