"""Moving from Scale: the official ``scaleapi`` SDK, unchanged, against labelmill.

Run a server and make a key, then run this file:

    labelmill serve --port 8080 &
    labelmill org create acme
    labelmill key create --org acme --test     # a test key: tasks complete at once
    python examples/moving_from_scale.py --url http://127.0.0.1:8080 --key lm_test_...

With a live key (``labelmill key create --org acme``) the same code sends the tasks to your
labelmill workforce instead, and their answers read back the same way once done.
"""

from __future__ import annotations

import argparse

from scaleapi import ScaleClient
from scaleapi.exceptions import ScaleDuplicateResource
from scaleapi.tasks import TaskStatus, TaskType


def run(url: str, key: str, project: str = "animals", batch: str = "week-1") -> list[str]:
    """Create a project, a batch and three tasks, and read back what is completed. Returns
    one line per completed task."""
    # The only change from a Scale pipeline: where the API lives.
    client = ScaleClient(key, api_instance_url=f"{url}/v1")
    try:
        client.create_project(
            project,
            TaskType.Categorization,
            params={"instruction": "Which animal is this?", "categories": ["cat", "dog", "bird"]},
        )
        client.create_batch(project, batch)
    except ScaleDuplicateResource:
        pass  # run before: reuse them
    for i, caption in enumerate(["a cat on a mat", "a dog in the park", "a bird on a wire"]):
        try:
            client.create_task(
                TaskType.Categorization,
                batch=batch,
                attachment=caption,
                attachment_type="text",
                unique_id=f"{batch}/item-{i}",  # idempotent: a retry cannot duplicate it
                metadata={"source": "captions.csv", "row": i},
            )
        except ScaleDuplicateResource:
            pass
    lines = []
    for task in client.get_tasks(project_name=project, status=TaskStatus.Completed):
        lines.append(f"{task.metadata['row']}: {task.params['attachment']!r} -> {task.response}")
    print(f"batch {batch}: {client.batch_status(batch)}")
    for line in sorted(lines):
        print(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    run(args.url, args.key)


if __name__ == "__main__":
    main()
