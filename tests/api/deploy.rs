//! The deployment files use only variables Confab reads, and are well-formed.

use confab::config::VARIABLES;
use serde_yaml::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

fn assert_known(path: &str, names: Vec<String>) {
    assert!(!names.is_empty(), "{path}: no variables found");
    for name in names {
        assert!(
            VARIABLES.contains(&name.as_str()),
            "{path} sets {name}, which Confab does not read"
        );
    }
}

#[test]
fn docker_compose_runs_confab_after_a_healthy_postgres_with_known_variables() {
    let compose = load("docker-compose.yml");
    let confab = &compose["services"]["confab"];
    assert_eq!(
        confab["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    assert!(compose["services"]["postgres"]["healthcheck"]["test"].is_sequence());
    assert!(compose["volumes"]["pgdata"].is_null() || compose["volumes"]["pgdata"].is_mapping());
    let names = confab["environment"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_known("docker-compose.yml", names);
}

#[test]
fn docker_compose_scales_confab_behind_a_sticky_load_balancer_over_one_redis() {
    let compose = load("docker-compose.yml");
    let services = &compose["services"];
    let confab = &services["confab"];
    assert_eq!(
        confab["depends_on"]["redis"]["condition"],
        "service_healthy"
    );
    assert!(services["redis"]["healthcheck"]["test"].is_sequence());
    assert_eq!(confab["environment"]["REDIS_URL"], "redis://redis:6379");
    // A fixed host port would stop `--scale confab=N`; the load balancer owns the port.
    assert!(confab["ports"].is_null(), "confab publishes no host port");
    assert!(confab["deploy"]["replicas"].as_u64().unwrap() >= 2);
    let lb = &services["lb"];
    assert_eq!(lb["ports"][0], "7200:7200");
    let mount = lb["volumes"][0].as_str().unwrap();
    let config_path = mount.split(':').next().unwrap().trim_start_matches("./");
    let config =
        std::fs::read_to_string(format!("{}/{config_path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        config.contains("balance source"),
        "polling clients stay on one replica"
    );
    assert!(config.contains("server-template confab") && config.contains("resolvers docker"));
}

#[test]
fn the_digitalocean_spec_has_a_health_check_secrets_as_secrets_and_known_variables() {
    let spec = load(".do/app.yaml");
    let service = &spec["services"][0];
    assert_eq!(service["health_check"]["http_path"], "/health");
    assert_eq!(service["http_port"], 7200);
    assert_eq!(spec["databases"][0]["engine"], "PG");
    assert!(service["instance_count"].as_u64().unwrap() >= 2);
    let cache = &spec["databases"][1];
    assert_eq!(cache["engine"], "VALKEY");
    let redis_url = service["envs"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "REDIS_URL")
        .expect("REDIS_URL is set");
    assert_eq!(
        redis_url["value"].as_str().unwrap(),
        format!("${{{}.DATABASE_URL}}", cache["name"].as_str().unwrap())
    );
    let envs = service["envs"].as_sequence().unwrap();
    for env in envs {
        let key = env["key"].as_str().unwrap();
        if key.ends_with("SECRET") {
            assert_eq!(env["type"], "SECRET", "{key} must be a secret");
        }
    }
    assert_known(
        ".do/app.yaml",
        envs.iter()
            .map(|e| e["key"].as_str().unwrap().to_owned())
            .collect(),
    );
}

#[test]
fn the_render_blueprint_has_a_health_check_a_database_and_known_variables() {
    let spec = load("render.yaml");
    let service = &spec["services"][0];
    assert_eq!(service["healthCheckPath"], "/health");
    assert_eq!(service["runtime"], "docker");
    assert_eq!(spec["databases"][0]["name"], "confab-db");
    assert!(service["numInstances"].as_u64().unwrap() >= 2);
    let kv = &spec["services"][1];
    assert_eq!(kv["type"], "keyvalue");
    let redis_url = service["envVars"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "REDIS_URL")
        .expect("REDIS_URL is set");
    assert_eq!(redis_url["fromService"]["name"], kv["name"]);
    assert_eq!(redis_url["fromService"]["type"], "keyvalue");
    let envs = service["envVars"].as_sequence().unwrap();
    assert_known(
        "render.yaml",
        envs.iter()
            .map(|e| e["key"].as_str().unwrap().to_owned())
            .collect(),
    );
}

#[test]
fn the_dockerfile_builds_in_stages_runs_as_non_root_and_checks_health() {
    let text =
        std::fs::read_to_string(format!("{}/Dockerfile", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert_eq!(
        text.matches("\nFROM ").count() + usize::from(text.starts_with("FROM ")),
        2,
        "two stages"
    );
    assert!(text.contains("cargo build --release --locked --bin confab"));
    assert!(text.contains("USER confab"));
    assert!(text.contains("HEALTHCHECK") && text.contains("\"healthcheck\""));
    for line in text
        .lines()
        .filter(|l| l.starts_with("ENV ") || l.starts_with("    "))
    {
        for part in line.trim_start_matches("ENV ").split_whitespace() {
            if let Some((name, _)) = part.split_once('=') {
                assert!(
                    VARIABLES.contains(&name),
                    "the Dockerfile sets {name}, which Confab does not read"
                );
            }
        }
    }
}
