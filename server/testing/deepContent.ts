import * as Y from 'yjs'

/**
 * Puts a chain of `depth` XmlElements (each the only child of the one before, the innermost holding
 * a text) at the end of a rich-text root, in one transaction: the shape of the hostile edit. Built
 * with a loop: Yjs integrates each level on its own, so building it needs no deep stack.
 */
export const appendElementChain = (doc: Y.Doc, root: string, depth: number, leafText = 'deep'): void => {
  doc.transact(() => {
    const fragment = doc.getXmlFragment(root)
    let parent: Y.XmlFragment | Y.XmlElement = fragment
    for (let level = 0; level < depth; level++) {
      const element = new Y.XmlElement('blockquote')
      parent.insert(parent.length, [element])
      parent = element
    }
    parent.insert(0, [new Y.XmlText(leafText)])
  })
}

/** How deep the deepest element chain of a root goes (a loop, not a recursion). */
export const elementDepth = (fragment: Y.XmlFragment): number => {
  let deepest = 0
  const stack: Array<{ node: Y.XmlFragment | Y.XmlElement; depth: number }> = [{ node: fragment, depth: 0 }]
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!
    deepest = Math.max(deepest, depth)
    for (const child of node.toArray()) if (child instanceof Y.XmlElement) stack.push({ node: child, depth: depth + 1 })
  }
  return deepest
}
