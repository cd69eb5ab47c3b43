//! Message search in every script (contract §3; issue: CJK text was never found by a word inside a
//! sentence).
//!
//! PostgreSQL's text-search parser splits words at spaces and punctuation. Chinese and Japanese
//! (and Korean particles) write words without spaces, so "東京タワーに行った" was one lexeme and
//! `東京` never matched. The standard answer of search engines without a dictionary is to index
//! such text one character per token and to search it as a phrase (adjacent tokens in order):
//! `confab_search_text` puts spaces around every Han, kana and Hangul character before the
//! `english` configuration parses the text, and the server turns each such run of a query into a
//! phrase (`<->`). Other scripts are untouched: their words are folded to lower case by the
//! database's Unicode locale (Cyrillic, Greek, accented Latin) and stemmed where `english` knows
//! how.
//!
//! The document is stored (`search_vector`, a generated column) and indexed, rather than an index
//! over the expression: a phrase match must be rechecked against the document of every candidate
//! row, and computing it again each time made a search for a two-character word that is in 1 % of
//! 1 M messages take 340 ms instead of tens. It is computed once per write either way (the
//! expression index computed it too). Adding the column rewrites the table under an exclusive
//! lock (about a minute per 10 M messages on this machine class).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE FUNCTION confab_search_text(content text) RETURNS text
                    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                    RETURN regexp_replace(content,
                        '([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f])',
                        ' \1 ', 'g');
                CREATE FUNCTION confab_search_document(content text) RETURNS tsvector
                    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                    RETURN to_tsvector('english'::regconfig, confab_search_text(content));
                -- `words`: the query's text outside runs of those scripts; `phrases`: the runs.
                -- NULL (matches nothing) when there is nothing to search for; built from NULL
                -- rather than '' because an empty tsquery raises a NOTICE on every search.
                CREATE FUNCTION confab_search_query(words text, phrases text[]) RETURNS tsquery
                    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
                    DECLARE
                        result tsquery;
                        part tsquery;
                        phrase text;
                    BEGIN
                        IF words ~ '\w' THEN
                            result := plainto_tsquery('english'::regconfig, words);
                        END IF;
                        FOREACH phrase IN ARRAY coalesce(phrases, '{}') LOOP
                            part := phraseto_tsquery('english'::regconfig, confab_search_text(phrase));
                            result := CASE WHEN result IS NULL THEN part ELSE result && part END;
                        END LOOP;
                        RETURN result;
                    END
                    $$;
                DROP INDEX messages_content_fts_idx;
                ALTER TABLE messages ADD COLUMN search_vector tsvector
                    GENERATED ALWAYS AS (confab_search_document(content)) STORED;
                CREATE INDEX messages_content_fts_idx ON messages USING gin (search_vector);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                DROP INDEX messages_content_fts_idx;
                ALTER TABLE messages DROP COLUMN search_vector;
                CREATE INDEX messages_content_fts_idx
                    ON messages USING gin (to_tsvector('english', content));
                DROP FUNCTION confab_search_query(text, text[]);
                DROP FUNCTION confab_search_document(text);
                DROP FUNCTION confab_search_text(text);
                "#,
            )
            .await?;
        Ok(())
    }
}
