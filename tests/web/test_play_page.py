"""The game's page as the server renders it: round length, accept threshold, prompts."""

from web import create_app


def test_short_rounds_only_on_a_server_started_for_tests(monkeypatch, shipped):
    """Without SKETCHBOOK_TEST_ROUNDS, ``?seconds=`` is ignored: every prompt lasts 20 s."""
    for env, expected in ((None, 'data-seconds="20"'), ("1", 'data-seconds="3"')):
        if env is None:
            monkeypatch.delenv("SKETCHBOOK_TEST_ROUNDS", raising=False)
        else:
            monkeypatch.setenv("SKETCHBOOK_TEST_ROUNDS", env)
        app = create_app({"CLASSIFIER": shipped})
        body = app.test_client().get("/play?seconds=3").get_data(as_text=True)
        assert expected in body
        assert f'data-accept="{shipped.card.accept_threshold}"' in body
        assert "other" not in body.split('data-labels="')[1].split('"')[0]
