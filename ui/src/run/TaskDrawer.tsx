// The task drawer: everything about one task of a run, its URL `?task=KEY`.
import { useEffect, useState, type ReactNode } from "react";
import type { LiveTask, Series, TaskView } from "../api/types";
import { StateBadge } from "../components/StateBadge";
import { duration } from "../lib/format";
import { isTerminal } from "../lib/states";
import { Attempts } from "./Attempts";
import { CacheInfo } from "./CacheInfo";
import { LogView } from "./LogView";
import { MapItems } from "./MapItems";
import { OutputInfo } from "./OutputInfo";
import { TaskMetrics } from "./TaskMetrics";

function Section(props: { title: string; children: ReactNode }) {
  return (
    <section className="drawer-section">
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}

export function TaskDrawer(props: {
  runId: string;
  taskKey: string;
  task: TaskView | undefined;
  live: LiveTask | undefined;
  /** Whether the graph draws the task as a map (a big run's tasks are neither listed nor streamed). */
  graphMapped: boolean;
  /** A mapped task's items per state. */
  itemCounts: Record<string, number>;
  /** Changes as the run changes (the item list reads its rows again). */
  version: number;
  listed: boolean;
  series: Series[];
  onSelect: (key: string) => void;
  onClose: () => void;
}) {
  const { runId, taskKey, task, live } = props;
  const state = live?.state ?? task?.state ?? "pending";
  const latest = live?.attempt ?? task?.attempt ?? 1;
  const mapped = live?.mapped ?? task?.mapped ?? props.graphMapped;
  const [chosen, setChosen] = useState(latest);
  useEffect(() => setChosen(latest), [taskKey, latest]);
  const attempt = task?.attempts.find((a) => a.attempt === chosen);
  const error = attempt?.error ?? (chosen === latest ? live?.error ?? task?.error : null);
  return (
    <aside className="drawer" data-testid="drawer">
      <header className="drawer-head">
        <div>
          <div className="mono title">{taskKey}</div>
          <div className="muted">
            <StateBadge state={state} /> {task && !mapped && <>ran {duration(task.ran_for)}</>}
            {!task && !live && <> no such task in this run (yet)</>}
            {task?.parent && <> · item of <a onClick={() => props.onSelect(task.parent!)}>{task.parent}</a></>}
          </div>
        </div>
        <button className="icon" onClick={props.onClose} aria-label="close">×</button>
      </header>
      {mapped && (
        <Section title={`Items (${Object.values(props.itemCounts).reduce((a, b) => a + b, 0)})`}>
          <MapItems runId={runId} taskKey={taskKey} counts={props.itemCounts} version={props.version} onSelect={props.onSelect} />
        </Section>
      )}
      {!mapped && (
        <>
          <Section title="Attempts">
            {props.listed || task ? (
              <Attempts attempts={task?.attempts ?? []} chosen={chosen} onChoose={setChosen} />
            ) : (
              <div className="muted">
                Attempt {latest} is the latest. This run has too many tasks to list every attempt
                here: <code>legato runs show {runId}</code> has them.
              </div>
            )}
          </Section>
          {error && (
            <Section title="Error">
              <div className="error-title"><b>{error.type}</b>: {error.message}</div>
              {error.traceback && <pre className="traceback" data-testid="traceback">{error.traceback}</pre>}
            </Section>
          )}
          <Section title={`Log · attempt ${chosen}`}>
            <LogView runId={runId} task={taskKey} attempt={chosen} live={!isTerminal(state)} />
          </Section>
          <Section title="Metrics">
            <TaskMetrics series={props.series} />
          </Section>
          {(task?.output ?? live?.output) && (
            <Section title="Output">
              <OutputInfo runId={runId} task={taskKey} attempt={latest} output={(task?.output ?? live?.output)!} />
            </Section>
          )}
          {task && (
            <Section title="Cache">
              <CacheInfo cache={task.cache} />
            </Section>
          )}
        </>
      )}
    </aside>
  );
}
