import { useCallback, useEffect, useRef, useState } from 'react';
import { get } from './api.ts';
import { ApiProblem } from './problem.ts';

type Answer<T> = { key: string; path: string; data?: T; problem?: ApiProblem };

export type Fetched<T> = {
  /** The last answer for this path (kept while a reload runs). */
  data: T | undefined;
  problem: ApiProblem | undefined;
  isLoading: boolean;
  reload: () => void;
};

function asProblem(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  return new ApiProblem({
    status: 0,
    code: 'unexpected',
    title: 'Unexpected error',
    detail: error instanceof Error ? error.message : String(error),
  });
}

/** GETs a path (null: nothing yet) and again whenever it changes or `reload` is called. */
export function useFetch<T>(path: string | null): Fetched<T> {
  const [answer, setAnswer] = useState<Answer<T> | null>(null);
  const [version, setVersion] = useState(0);
  const key = path === null ? null : `${version}|${path}`;
  useEffect(() => {
    if (path === null || key === null) return;
    const controller = new AbortController();
    get<T>(path, controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setAnswer({ key, path, data });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setAnswer({ key, path, problem: asProblem(error) });
      },
    );
    return () => {
      controller.abort();
    };
  }, [path, key]);
  const reload = useCallback(() => {
    setVersion((v) => v + 1);
  }, []);
  const isSamePath = answer !== null && answer.path === path;
  return {
    data: isSamePath ? answer.data : undefined,
    problem: answer?.key === key ? answer.problem : undefined,
    isLoading: path !== null && answer?.key !== key,
    reload,
  };
}

export type Action = {
  isSaving: boolean;
  problem: ApiProblem | undefined;
  /** Runs one change; true when it succeeded. A second click while saving is ignored. */
  run: (work: () => Promise<unknown>) => Promise<boolean>;
  setProblem: (problem: ApiProblem | undefined) => void;
};

/** One form's saving state and the problem central answered with. */
export function useAction(): Action {
  const [isSaving, setSaving] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | undefined>(undefined);
  const busy = useRef(false);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    if (busy.current) return false;
    busy.current = true;
    setSaving(true);
    setProblem(undefined);
    try {
      await work();
      return true;
    } catch (error) {
      setProblem(asProblem(error));
      return false;
    } finally {
      busy.current = false;
      setSaving(false);
    }
  }, []);
  return { isSaving, problem, run, setProblem };
}

/** The value, once it has stayed the same for `delayMs`. */
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => {
      setSettled(value);
    }, delayMs);
    return () => {
      clearTimeout(timer);
    };
  }, [value, delayMs]);
  return settled;
}

/** Now, moving every `everyMs` (for countdowns and "last seen" ages). */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      setNow(Date.now());
    }, everyMs);
    return () => {
      clearInterval(timer);
    };
  }, [everyMs]);
  return now;
}
