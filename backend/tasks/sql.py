"""SQL fragments other domains share about tasks, so that the reminders, the 月通报, the 季点评 and the 年考核 agree
on what is done and what has been carried into the next year."""

# An assignment's completion: its own 办结, or the task's when the whole task was completed (办结 closes only the
# requesting unit's assignment; the other units' parts end with the task).
DONE_AT = "coalesce(a.done_at, CASE WHEN t.state = 'done' THEN t.done_at END)"


def not_carried_over(task_id: str = "t.id", when: str = "") -> str:
    """The task has not been carried into the next year (optionally: by the moment `when` says, a predicate on
    `carried`, the copy). Once it has, its copy owes the reports and hears the reminders; the original keeps its
    history in its year and counts there as unfinished."""
    extra = f" AND {when}" if when else ""
    return f"NOT EXISTS (SELECT 1 FROM tasks carried WHERE carried.carried_from_id = {task_id}{extra})"  # noqa: S608
