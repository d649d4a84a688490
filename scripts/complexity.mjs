#!/usr/bin/env node
/**
 * Lines and cyclomatic complexity of functions, counted as ESLint's `complexity` rule counts
 * (1 + if, ?:, &&, ||, ??, &&=, ||=, ??=, case with a test, for, for-in, for-of, while, do,
 * catch, default parameter values). Nested functions count on their own.
 *
 *   node scripts/complexity.mjs [--whole] <file.ts> [name ...]
 *
 * Prints "<lines> <complexity> <name>" for every function (or only those named, as "name" or
 * "Class.method"), largest complexity first.
 */
import { readFileSync } from "node:fs";
import ts from "typescript";

const args = process.argv.slice(2);
/** --whole: a function's nested functions and optional chains (?.) count in it too. */
const whole = args.includes("--whole");
const [file, ...names] = args.filter((a) => a !== "--whole");
if (!file) {
  console.error("usage: node scripts/complexity.mjs <file.ts> [name ...]");
  process.exit(2);
}
const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);

const BRANCHING = new Set([
  ts.SyntaxKind.IfStatement,
  ts.SyntaxKind.ConditionalExpression,
  ts.SyntaxKind.ForStatement,
  ts.SyntaxKind.ForInStatement,
  ts.SyntaxKind.ForOfStatement,
  ts.SyntaxKind.WhileStatement,
  ts.SyntaxKind.DoStatement,
  ts.SyntaxKind.CatchClause,
]);
const LOGICAL = new Set([
  ts.SyntaxKind.AmpersandAmpersandToken,
  ts.SyntaxKind.BarBarToken,
  ts.SyntaxKind.QuestionQuestionToken,
  ts.SyntaxKind.AmpersandAmpersandEqualsToken,
  ts.SyntaxKind.BarBarEqualsToken,
  ts.SyntaxKind.QuestionQuestionEqualsToken,
]);

const isFunction = (n) =>
  ts.isFunctionDeclaration(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isFunctionExpression(n) ||
  ts.isArrowFunction(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessor(n) ||
  ts.isSetAccessor(n);

function nameOf(n) {
  const own = n.name && ts.isIdentifier(n.name) ? n.name.text : undefined;
  if (ts.isConstructorDeclaration(n)) return `${n.parent.name?.text ?? "?"}.constructor`;
  if ((ts.isMethodDeclaration(n) || ts.isGetAccessor(n)) && ts.isClassLike(n.parent)) {
    return `${n.parent.name?.text ?? "?"}.${own}`;
  }
  if (own) return own;
  if (ts.isVariableDeclaration(n.parent) && ts.isIdentifier(n.parent.name))
    return n.parent.name.text;
  if (ts.isPropertyAssignment(n.parent) && ts.isIdentifier(n.parent.name))
    return n.parent.name.text;
  const { line } = source.getLineAndCharacterOfPosition(n.getStart());
  return `<anonymous:${line + 1}>`;
}

function complexity(fn) {
  let count = 1;
  const visit = (n) => {
    if (n !== fn && isFunction(n) && !whole) return;
    if (whole && n.questionDotToken) count++;
    if (BRANCHING.has(n.kind)) count++;
    else if (ts.isCaseClause(n)) count++;
    else if (ts.isBinaryExpression(n) && LOGICAL.has(n.operatorToken.kind)) count++;
    else if (ts.isParameter(n) && n.initializer) count++;
    ts.forEachChild(n, visit);
  };
  visit(fn);
  return count;
}

const rows = [];
const walk = (n) => {
  if (isFunction(n) && n.body) {
    const start = source.getLineAndCharacterOfPosition(n.getStart()).line;
    const end = source.getLineAndCharacterOfPosition(n.getEnd()).line;
    rows.push({ name: nameOf(n), lines: end - start + 1, cc: complexity(n) });
  }
  ts.forEachChild(n, walk);
};
walk(source);
const wanted =
  names.length > 0
    ? rows.filter((r) => names.some((x) => r.name === x || r.name.endsWith(`.${x}`)))
    : rows;
wanted.sort((a, b) => b.cc - a.cc);
for (const r of wanted)
  console.log(`${String(r.lines).padStart(5)} ${String(r.cc).padStart(4)}  ${r.name}`);
